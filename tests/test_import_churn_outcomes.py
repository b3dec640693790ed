"""A churn file's outcome column is read as the churn label however the public data sets word it.

Kaggle's credit-card churn file (BankChurners.csv) says who left in ``Attrition_Flag``, as "Attrited
Customer" or "Existing Customer"; a Chinese extract writes 流失 / 未流失.  Those words are the churn
label's own: a yes/no field elsewhere still refuses them, and a cell that is none of them is refused
naming the row, the column and which word means which outcome.
"""
from __future__ import annotations

import pytest

from tests.test_imports import rows, run_import, write  # noqa: F401  (run_import is a fixture)
from tierwise.errors import ValidationError
from tierwise.tenants.customers import Customer
from tierwise.tenants.imports.errors import ImportRejected

BANK_CHURNERS = ('"CLIENTNUM","Attrition_Flag","Customer_Age","Card_Category"\n'
                 '768805383,"Existing Customer",45,"Blue"\n818770008,"Attrited Customer",49,"Blue"\n'
                 '713982108,"existing customer",51,"Gold"\n')


def test_bank_churners_attrition_flag_imports_as_the_churn_label(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "BankChurners.csv", BANK_CHURNERS), add_fields=True,
               mapping={"external_id": "CLIENTNUM", "churn_label": "Attrition_Flag"})
    labels = {c.external_id: c.churn_label for c in rows(app, tenant_a, Customer)}
    assert labels == {"768805383": False, "818770008": True, "713982108": False}


def test_a_chinese_extract_saying_churned_or_not_imports_as_the_churn_label(app, tmp_path, tenant_a, run_import):
    run_import(tenant_a, "customers", write(tmp_path, "c.csv", "客户号,是否流失\n001,流失\n002,未流失\n003,已流失\n"))
    assert {c.external_id: c.churn_label for c in rows(app, tenant_a, Customer)} == {
        "001": True, "002": False, "003": True}


def test_a_churn_outcome_that_is_no_known_word_is_refused_saying_which_word_means_which(
        app, tmp_path, tenant_a, run_import):
    with pytest.raises(ImportRejected) as refused:
        run_import(tenant_a, "customers", write(tmp_path, "c.csv", "customer id,churn\n001,Existing Customer\n"
                                                                    "002,Closed Account\n"))
    said = str(refused.value)
    assert "row 3" in said and "'churn'" in said and "Closed Account" in said, said
    assert "Attrited Customer for a customer who left" in said and "Existing Customer for one who stayed" in said
    assert rows(app, tenant_a, Customer) == []


def test_a_yes_no_field_other_than_the_churn_label_still_refuses_the_churn_words(
        app, tmp_path, make_tenant, run_import):
    grid = make_tenant("power_utility")
    with pytest.raises(ImportRejected) as refused:
        run_import(grid, "customers", write(tmp_path, "c.csv", "户号,illegal_use\n001,Existing Customer\n"))
    assert "is not yes/no" in str(refused.value), str(refused.value)


def test_bank_churners_imports_as_downloaded_with_add_fields_alone(app, tmp_path, tenant_a, run_import):
    """CLIENTNUM is the customer id and Attrition_Flag the churn label, read by their headers, not added as fields."""
    from tierwise.platform import tenancy
    from tierwise.tenants.fields import field_registry

    result = run_import(tenant_a, "customers", write(tmp_path, "BankChurners.csv", BANK_CHURNERS), add_fields=True)
    assert {c.external_id: c.churn_label for c in rows(app, tenant_a, Customer)} == {
        "768805383": False, "818770008": True, "713982108": False}
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert {"customer_age", "card_category"} <= set(field_registry())
        assert not {"clientnum", "attrition_flag"} & set(field_registry())
    assert (result.recognised_columns["external_id"], result.recognised_columns["churn_label"]) == (
        "CLIENTNUM", "Attrition_Flag")


NAIVE_BAYES = ("Naive_Bayes_Classifier_Attrition_Flag_Card_Category_Contacts_Count_12_mon_Dependent_count_"
               "Education_Level_Months_Inactive_12_mon_")


def test_a_header_too_long_for_a_field_name_is_refused_saying_its_length_and_how_to_name_it(
        app, tmp_path, tenant_a, run_import):
    """BankChurners.csv ends with two Naive_Bayes_Classifier_... columns of 130 characters."""
    churners = BANK_CHURNERS.replace('"Card_Category"\n', f'"Card_Category","{NAIVE_BAYES}1","{NAIVE_BAYES}2"\n')
    churners = churners.replace('"Blue"\n', '"Blue",9.3448e-05,0.99991\n').replace('"Gold"\n', '"Gold",0.99985,0.00015\n')
    path = write(tmp_path, "BankChurners.csv", churners)
    with pytest.raises(ValidationError) as refused:
        run_import(tenant_a, "customers", path, add_fields=True)
    said = str(refused.value)
    assert f"'{NAIVE_BAYES}1' is 130 characters long" in said and "at most 63" in said, said
    assert f"short_name={NAIVE_BAYES}1 (--map in the CLI)" in said, said
    assert rows(app, tenant_a, Customer) == []

    run_import(tenant_a, "customers", path, add_fields=True,
               mapping={"naive_bayes_1": f"{NAIVE_BAYES}1", "naive_bayes_2": f"{NAIVE_BAYES}2"})
    assert {c.external_id: c.attributes["naive_bayes_2"] for c in rows(app, tenant_a, Customer)} == {
        "768805383": 0.99991, "818770008": 0.99991, "713982108": 0.00015}
