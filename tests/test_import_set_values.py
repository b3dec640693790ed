"""Values set for every row: a register exported from a hotline lists complaints only, received by phone.

Its rows say neither, so the file has no type or channel column, and the import
refused it until someone edited the file.  ``--set type=complaint`` (the CLI),
``type==complaint`` (the import page's mapping box) and ``"type": "=complaint"``
(an API mapping) give every row the value instead; a saved mapping and a
background run keep it; a bad value, a value for an id, or a value for a target
the file has a column for are refused before anything is stored.
"""
from __future__ import annotations

import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tierwise.platform.cli import cli
from tierwise.platform.db import db
from tierwise.tenants.customers import Customer
from tierwise.tenants.interactions import Interaction

REGISTER = "户号,受理时间,诉求内容\nC-1,2025-03-01 10:00,停电时间太长\nC-2,2025-03-02 11:00,电费异常\n"


def tierwise(runner, *args: str):
    return runner.invoke(cli, [str(arg) for arg in args])


def interactions(app, world) -> list[tuple[str, str, str]]:
    with in_tenant(app, world):
        rows = db.session.execute(sa.select(Customer.external_id, Interaction.interaction_type, Interaction.channel)
                                  .join(Customer, Customer.id == Interaction.customer_id)
                                  .order_by(Customer.external_id)).all()
        return [tuple(row) for row in rows]


def register(tmp_path, text: str = REGISTER):
    path = tmp_path / "投诉登记.csv"
    path.write_text(text, encoding="utf-8")
    return path


def customers(runner, world, tmp_path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("external_id,name\nC-1,Alpha\nC-2,Beta\n", encoding="utf-8")
    assert tierwise(runner, "import", "customers", "--tenant", world.slug, path).exit_code == 0


def test_a_complaint_register_without_type_or_channel_imports_with_both_set_for_every_row(app, runner, tenant_a,
                                                                                        tmp_path):
    customers(runner, tenant_a, tmp_path)
    refused = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path))
    assert refused.exit_code != 0 and "the file has no columns for 'channel', 'type'" in refused.output
    done = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path),
                    "--set", "type=complaint", "--set", "channel=phone")
    assert done.exit_code == 0, done.output
    assert "2 new" in done.output and "Set for every row: channel=phone, type=complaint" in done.output
    assert interactions(app, tenant_a) == [("C-1", "complaint", "phone"), ("C-2", "complaint", "phone")]


def test_a_set_value_is_read_as_a_cell_would_be_and_a_bad_one_is_refused_naming_it_before_any_row(
        app, runner, tenant_a, tmp_path):
    customers(runner, tenant_a, tmp_path)
    spelled = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path),
                       "--set", "type=投诉", "--set", "channel=12398")  # as a register writes them: the regulator
    assert spelled.exit_code == 0, spelled.output
    assert {row[1:] for row in interactions(app, tenant_a)} == {("complaint", "regulator_hotline")}
    bad = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path),
                   "--set", "type=complain", "--set", "channel=phone")
    assert bad.exit_code != 0
    assert "the value set for every row, type=complain, is not one of" in bad.output, bad.output
    assert len(interactions(app, tenant_a)) == 2  # the first import's, nothing more


def test_a_target_the_file_has_a_column_for_an_id_or_an_empty_value_cannot_be_set(app, runner, tenant_a, tmp_path):
    customers(runner, tenant_a, tmp_path)
    typed = register(tmp_path, "户号,受理时间,类型,渠道\nC-1,2025-03-01,投诉,热线\n")
    both = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, typed, "--set", "type=complaint")
    assert both.exit_code != 0
    assert "'type' is set to 'complaint' for every row, and the file's column '类型' fills it too: leave one " \
           "out" in both.output, both.output
    mapped = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, typed, "--map", "type=渠道",
                      "--set", "type=complaint")
    assert mapped.exit_code != 0 and "'type' is both mapped to the column '渠道' and set to 'complaint'" in mapped.output
    ident = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path),
                     "--set", "customer=C-1", "--set", "type=complaint", "--set", "channel=phone")
    assert ident.exit_code != 0 and "'customer' identifies each row: it cannot be set" in ident.output, ident.output
    empty = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path),
                     "--set", "type=", "--set", "channel=phone")
    assert empty.exit_code != 0 and "'type' is set to nothing: give the value every row should have (for " \
                                    "example type=complaint)" in empty.output, empty.output
    assert interactions(app, tenant_a) == []


def test_a_saved_mapping_and_a_background_run_keep_the_set_values(app, runner, tenant_a, tmp_path, browser):
    customers(runner, tenant_a, tmp_path)
    saved = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path),
                     "--set", "type=complaint", "--set", "channel=phone", "--save-mapping", "95598")
    assert saved.exit_code == 0, saved.output
    again = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug,
                     register(tmp_path, REGISTER.replace("2025-03", "2025-04")), "--mapping", "95598", "--background")
    assert again.exit_code == 0, again.output
    run_id = again.output.split("Import run ")[1].split()[0]
    status = tierwise(runner, "import", "status", "--tenant", tenant_a.slug, run_id)
    assert "Set for every row: channel=phone, type=complaint" in status.output, status.output
    assert len(interactions(app, tenant_a)) == 4
    browser.login(tenant_a)
    page = browser.get(f"/t/{tenant_a.slug}/imports/runs/{run_id}").text
    assert "<code>type</code> = complaint (every row)" in page, page


def test_an_api_batch_sets_a_value_with_an_equals_sign_in_its_mapping(app, client, tenant_a, issue_token):
    token = issue_token(tenant_a, "admin")
    headers = {"Authorization": f"Bearer {token}"}
    rows = [{"external_id": "C-1", "name": "Alpha"}]
    assert client.post("/api/v1/imports/customers", json={"rows": rows}, headers=headers).status_code in (200, 201)
    sent = client.post("/api/v1/imports/interactions", headers=headers, json={
        "rows": [{"customer": "C-1", "occurred_at": "2025-03-01"}],
        "mapping": {"type": "=complaint", "channel": "=regulator_hotline"}})
    assert sent.status_code in (200, 201), sent.get_json()
    assert interactions(app, tenant_a) == [("C-1", "complaint", "regulator_hotline")]
    bad = client.post("/api/v1/imports/interactions", headers=headers, json={
        "rows": [{"customer": "C-1", "occurred_at": "2025-03-02"}], "mapping": {"type": "=x", "channel": "=web"}})
    assert bad.status_code == 400, bad.get_json()
    assert bad.get_json()["error"]["field"] == "mapping.type", bad.get_json()


def test_a_customer_file_can_give_every_customer_a_field_it_adds(app, runner, tenant_a, tmp_path):
    path = tmp_path / "east.csv"
    path.write_text("external_id,name\nE-1,East one\nE-2,East two\n", encoding="utf-8")
    done = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path, "--add-fields",
                    "--set", "region=east")
    assert done.exit_code == 0, done.output
    with in_tenant(app, tenant_a):
        regions = db.session.execute(sa.select(Customer.external_id, Customer.attributes["region"].as_string())
                                     .order_by(Customer.external_id)).all()
        from tierwise.tenants.fields import field_registry

        label = field_registry()["region"].label_en
    assert [tuple(r) for r in regions] == [("E-1", "east"), ("E-2", "east")]
    assert label == "region"


def test_a_saved_mapping_sets_an_optional_target_again_when_reused(app, runner, tenant_a, tmp_path):
    """A saved mapping's optional targets may be absent from the next file; a value it sets is never absent."""
    customers(runner, tenant_a, tmp_path)
    first = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path),
                     "--set", "type=complaint", "--set", "channel=phone", "--set", "severity=4",
                     "--save-mapping", "hotline")
    assert first.exit_code == 0, first.output
    again = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug,
                     register(tmp_path, REGISTER.replace("2025-03", "2025-05")), "--mapping", "hotline")
    assert again.exit_code == 0, again.output
    with in_tenant(app, tenant_a):
        severities = db.session.scalars(sa.select(Interaction.severity)).all()
    assert sorted(severities) == [4, 4, 4, 4], severities


def test_the_import_page_sets_a_value_with_two_equals_signs_in_its_mapping_box(app, browser, tenant_a, runner,
                                                                             tmp_path):
    import io

    from tests.conftest import csrf_token_from

    customers(runner, tenant_a, tmp_path)
    browser.login(tenant_a, "admin")
    url = f"/t/{tenant_a.slug}/imports/"
    page = browser.get(url).text
    assert "TARGET==VALUE gives every row one value" in page
    sent = browser.client.post(url, content_type="multipart/form-data", data={
        "csrf_token": csrf_token_from(page), "kind": "interactions", "columns": "type==投诉\nchannel==phone",
        "file": (io.BytesIO(REGISTER.encode("utf-8")), "投诉登记.csv")})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    run_page = browser.get(sent.location).text
    assert "Succeeded" in run_page and "<code>type</code> = 投诉 (every row)" in run_page, run_page
    assert interactions(app, tenant_a) == [("C-1", "complaint", "phone"), ("C-2", "complaint", "phone")]


def test_a_set_value_naming_no_branch_or_a_date_before_1900_is_refused_once_before_any_row(app, runner, tenant_a,
                                                                                             tmp_path, client,
                                                                                             issue_token):
    """A value set for every row is wrong in every row or in none: refused once, naming the mapping's entry, not
    row by row under a column the file does not have ('=branch_code'), nor every row skipped with --skip-invalid."""
    path = tmp_path / "east.csv"
    path.write_text("external_id,name\nE-1,East one\nE-2,East two\n", encoding="utf-8")
    for option in ("branch_code=NOPE", "label_observed_on=1800-01-01", "rm_email=ghost@nowhere.test"):
        refused = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path, "--set", option,
                           "--skip-invalid")
        assert refused.exit_code != 0, refused.output
        assert f"the value set for every row, {option}, " in refused.output, refused.output
        assert "=branch_code" not in refused.output and "rows" not in refused.output, refused.output
    known = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path, "--set", "branch_code=n",
                     "--set", f"rm_email={tenant_a.email('rm1').upper()}")
    assert known.exit_code == 0, known.output  # matched as a cell is: the code ignoring case, the email lowered
    token = issue_token(tenant_a, "admin")
    sent = client.post("/api/v1/imports/customers", headers={"Authorization": f"Bearer {token}"},
                       json={"rows": [{"external_id": "E-3"}], "mapping": {"branch_code": "=NOPE"}})
    assert sent.status_code == 400 and sent.get_json()["error"]["field"] == "mapping.branch_code", sent.get_json()
    with in_tenant(app, tenant_a):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 2


def test_the_audit_log_and_the_api_say_which_values_an_import_set_for_every_row(app, runner, tenant_a, tmp_path,
                                                                              client, issue_token):
    """The audit log is where an admin looks for who gave every customer of a file to one RM: the import's
    event says what it set, as the run's page and the CLI do."""
    from tierwise.platform.audit import AuditEvent

    path = tmp_path / "east.csv"
    path.write_text("external_id,name\nE-1,East one\nE-2,East two\n", encoding="utf-8")
    done = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path,
                    "--set", f"rm_email={tenant_a.email('rm1')}", "--set", "branch_code=N")
    assert done.exit_code == 0, done.output
    token = issue_token(tenant_a, "admin")
    sent = client.post("/api/v1/imports/customers", headers={"Authorization": f"Bearer {token}"},
                       json={"rows": [{"external_id": "E-3"}], "mapping": {"status": "=dormant"}})
    assert sent.status_code in (200, 201) and sent.get_json()["set_values"] == {"status": "dormant"}, sent.get_json()
    with in_tenant(app, tenant_a):
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "import.completed")
                                    .order_by(AuditEvent.occurred_at)).all()
        said = [event.details.get("set_values") for event in events]
    assert said == [{"rm_email": tenant_a.email("rm1"), "branch_code": "N"}, {"status": "dormant"}], said


def test_every_customer_of_a_file_cannot_be_given_one_name(app, runner, tenant_a, tmp_path):
    customers(runner, tenant_a, tmp_path)
    path = tmp_path / "more.csv"
    path.write_text("external_id\nC-1\nC-2\n", encoding="utf-8")
    renamed = tierwise(runner, "import", "customers", "--tenant", tenant_a.slug, path, "--set", "name=Acme")
    assert renamed.exit_code != 0 and "'name' is each customer's own" in renamed.output, renamed.output
    with in_tenant(app, tenant_a):
        names = db.session.scalars(sa.select(Customer.name).order_by(Customer.external_id)).all()
    assert names == ["Alpha", "Beta"]


def test_an_api_upload_maps_its_columns_saves_the_mapping_and_reuses_it(app, client, tenant_a, issue_token):
    """A core system's export with Chinese headers, uploaded through the API: the upload takes a mapping (as a JSON
    batch does), a saved one, and a name to save it under, as the import page does."""
    import io

    from tierwise.tenants.imports.mappings import ColumnMapping

    headers = {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}

    def upload(text: str, **form):
        return client.post("/api/v1/imports/customers", content_type="multipart/form-data", headers=headers,
                           data={"file": (io.BytesIO(text.encode("utf-8")), "核心系统.csv"), **form})

    sent = upload("户编号,户名\nK-1,甲\n", mapping='{"external_id": "户编号", "name": "户名"}', save_mapping="core")
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["status"] == "succeeded", sent.get_json()
    reused = upload("户编号,户名\nK-2,乙\n", mapping_name="core")
    assert reused.status_code == 201 and reused.get_json()["status"] == "succeeded", reused.get_json()
    with in_tenant(app, tenant_a):
        names = dict(db.session.execute(sa.select(Customer.external_id, Customer.name)).all())
        saved = db.session.scalar(sa.select(ColumnMapping.mapping).where(ColumnMapping.name == "core"))
    assert names == {"K-1": "甲", "K-2": "乙"} and saved == {"external_id": "户编号", "name": "户名"}
    bad = upload("户编号,户名\nK-3,丙\n", mapping="external_id=户编号")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "mapping", bad.get_json()
    unknown = upload("户编号,户名\nK-3,丙\n", mapping_name="nope")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["field"] == "mapping_name", unknown.get_json()


def test_a_background_run_refused_for_a_set_value_says_why_in_each_readers_language(app, runner, tenant_a, tmp_path,
                                                                                  browser):
    customers(runner, tenant_a, tmp_path)
    started = tierwise(runner, "import", "interactions", "--tenant", tenant_a.slug, register(tmp_path),
                       "--set", "type=", "--set", "channel=phone", "--background")
    assert started.exit_code != 0 and "'type' is set to nothing" in started.output, started.output
    run_id = started.output.split("Import run ")[1].split()[0]
    browser.login(tenant_a)
    page = browser.get(f"/t/{tenant_a.slug}/imports/runs/{run_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "“type”被设为空值" in page, page  # said again in the reader's language, not as the CLI said it
