"""A field may not take a name the rule language keeps for itself, wherever the field is created.

A field called ``and`` could never appear in a rule, and one called ``amount``,
``sum`` or ``churn_probability`` would mean two things there.  Adding a field on
the Fields page and an import that adds fields for unknown columns (from a file,
an API batch or the CLI) refuse such a name alike, naming the input at fault and
suggesting a name that works.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tests.test_import_inputs import customers, import_cli, snapshot
from tests.test_imports import write
from tierwise.errors import ValidationError
from tierwise.platform import tenancy
from tierwise.platform.db import db
from tierwise.tenants.field_templates import TEMPLATES
from tierwise.tenants.fields import FieldDefinition, define_field, field_registry
from tierwise.tenants.imports.runner import import_file
from tierwise.tenants.rules.definition import RuleSetDefinition
from tierwise.tenants.rules.syntax import KEYWORDS
from tierwise.tenants.rules.versions import compile_for_tenant

RULE_LANGUAGE_NAMES = [
    # keywords
    "and", "or", "not", "in", "between", "is", "null", "true", "false",
    # what aggregates add up
    "amount", "quantity",
    # functions
    "sum", "avg", "min", "max", "count", "days_since_last", "days_since", "trend", "percentile", "top_share",
    "tier", "coalesce", "abs",
    # model scores and sources of rows
    "churn_probability", "predicted_value", "complaints", "interactions", "activity",
]


def field_names(app, world) -> set[str]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return set(db.session.scalars(sa.select(FieldDefinition.name)))


def rule_set(rule: str) -> RuleSetDefinition:
    return RuleSetDefinition.from_dict({"value_measure": "sum(amount, 365d)", "dimensions": [
        {"code": "value", "tiers": [{"code": "vip", "rule": rule}, {"code": "mass", "fallback": True}]},
        {"code": "high_risk", "tiers": [{"code": "high", "rule": "churn_probability > 0.5"},
                                        {"code": "normal", "fallback": True}]},
        {"code": "opinion_risk", "tiers": [{"code": "alert", "rule": "count(complaints, 90d) >= 2"},
                                           {"code": "calm", "fallback": True}]}]})


@pytest.mark.parametrize("name", RULE_LANGUAGE_NAMES)
def test_a_field_cannot_take_a_name_the_rule_language_gives_a_meaning(app, tenant_a, name):
    before = field_names(app, tenant_a)
    with in_tenant(app, tenant_a), pytest.raises(ValidationError) as refused:
        define_field(name=name, field_type="number")

    assert refused.value.field == "name"
    assert refused.value.message == (f"'{name}' is reserved by the rule language: choose another name, "
                                     f"e.g. '{name}_value'")
    assert field_names(app, tenant_a) == before


def test_every_keyword_of_the_rule_language_is_refused_even_one_added_later(app, tenant_a):
    with in_tenant(app, tenant_a):
        accepted = []
        for keyword in sorted(KEYWORDS):
            try:
                define_field(name=keyword, field_type="number")
                accepted.append(keyword)
            except ValidationError:
                pass
    assert accepted == []


@pytest.mark.parametrize("name", ["and", "amount", "churn_probability"])
def test_the_suggested_name_can_be_added_and_used_in_a_rule(app, tenant_a, name):
    with in_tenant(app, tenant_a):
        with pytest.raises(ValidationError) as refused:
            define_field(name=name, field_type="number")
        suggested = refused.value.message.rsplit("'", 2)[-2]
        define_field(name=suggested, field_type="number")
        db.session.commit()

    with in_tenant(app, tenant_a):  # the field sits beside the rule language's own meaning of the word
        compile_for_tenant(rule_set(f"{suggested} > 100 and sum(amount, 90d) > 0 and churn_probability < 0.5"))


@pytest.mark.parametrize("industry", sorted(TEMPLATES))
def test_every_industry_template_field_keeps_its_name(app, make_tenant, industry):
    world = make_tenant(industry)  # provisioning defines the template's fields: it would fail on a refused name

    assert field_names(app, world) == {template.name for template in TEMPLATES[industry]}


def test_an_import_adding_fields_refuses_a_reserved_column_naming_the_column(app, tmp_path, tenant_a):
    before = snapshot(app, tenant_a)
    path = write(tmp_path, "c.csv", "external_id,name,segment,Amount\n0001,张三,gold,1200\n")

    with in_tenant(app, tenant_a), pytest.raises(ValidationError) as refused:
        import_file(path, kind="customers", add_fields=True)

    assert (refused.value.field, refused.value.row) == ("Amount", None)
    assert str(refused.value) == ("field 'Amount': 'amount' is reserved by the rule language: choose another name, "
                                  "e.g. 'amount_value'")
    assert snapshot(app, tenant_a) == before  # not even the good column 'segment' was added


def test_an_api_batch_adding_fields_refuses_a_reserved_key_with_a_400_on_that_key(app, client, tenant_a,
                                                                                   issue_token):
    before = snapshot(app, tenant_a)
    response = client.post("/api/v1/imports/customers",
                           headers={"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"},
                           json={"rows": [{"external_id": "R-1", "name": "x", "and": "1"}], "add_fields": True})

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "and"
    assert "'and' is reserved by the rule language" in error["message"] and "'and_value'" in error["message"]
    assert snapshot(app, tenant_a) == before


def test_the_cli_adding_fields_refuses_a_reserved_column_in_one_line(app, tmp_path, tenant_a, runner):
    path = write(tmp_path, "c.csv", "external_id,name,trend\n0001,张三,up\n")

    result = import_cli(runner, tenant_a, "customers", path, "--add-fields")

    assert result.exit_code != 0
    assert result.stderr.strip() == ("Error: 'trend' is reserved by the rule language: "  # names its column once
                                     "choose another name, e.g. 'trend_value'")
    assert customers(app, tenant_a) == {}
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        assert "trend" not in field_registry()
