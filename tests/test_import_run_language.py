"""An import run is read later, and by others, than whoever started it: its errors are said in the reader's language."""
from __future__ import annotations

import html
import io

import pytest

from tests.conftest import csrf_token_from

ZH, EN = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}


def upload_in_chinese(browser, world, content: bytes = b"external_id,name,status\n,Nobody,active\n0044,x,asleep\n") -> str:
    page = browser.get(f"/t/{world.slug}/imports/", headers=ZH)
    bad = io.BytesIO(content)
    response = browser.client.post(f"/t/{world.slug}/imports/", headers=ZH, content_type="multipart/form-data", data={
        "csrf_token": csrf_token_from(page.text), "kind": "customers", "file": (bad, "bad.csv")})
    assert response.status_code == 302
    return response.location


def test_a_file_refused_in_chinese_reads_in_english_on_the_run_page(browser, tenant_a):
    browser.login(tenant_a, "admin")
    run_url = upload_in_chinese(browser, tenant_a)
    chinese = browser.get(run_url, headers=ZH).text
    assert "2 个无效值" in chinese  # the importer's language, for the importer
    assert "不在可选值范围内：active、closed、dormant" in chinese  # listed as Chinese lists, not "active, closed"
    assert '<div class="flash error">共有 2 个无效值' in chinese  # said once, not "nothing was imported" twice
    page = html.unescape(browser.get(run_url, headers=EN).text)
    assert '<div class="flash error">2 invalid value(s), nothing was imported: row 2, column \'external_id\'' in page
    assert "is required" in page and "is not one of: active, closed, dormant" in page
    assert "无效值" not in page and "第 2 行" not in page
    assert "<dt>Rows read</dt><dd>2</dd>" in page and "<dt>Rows with errors</dt><dd>2</dd>" in page


def test_the_api_gives_a_refused_runs_bad_cells_as_row_errors_in_the_readers_language(
        browser, client, tenant_a, issue_token):
    browser.login(tenant_a, "admin")
    run_id = upload_in_chinese(browser, tenant_a).rstrip("/").rsplit("/", 1)[1]
    token = {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    english = client.get(f"/api/v1/import-runs/{run_id}", headers={**token, **EN}).json["result"]["errors"]
    assert [set(error) for error in english] == [{"row", "column", "value", "reason"}] * 2  # RowError, nothing kept
    assert english[1] == {"row": 3, "column": "status", "value": "asleep",
                          "reason": english[1]["reason"]} and "is not one of" in english[1]["reason"]
    chinese = client.get(f"/api/v1/import-runs/{run_id}", headers={**token, **ZH}).json["result"]["errors"]
    assert "is not one of" not in chinese[1]["reason"] and chinese[1]["value"] == "asleep"


def test_the_dashboards_job_runs_say_a_refused_import_in_the_readers_language(browser, tenant_a):
    browser.login(tenant_a, "admin")
    upload_in_chinese(browser, tenant_a)
    runs = browser.get(f"/t/{tenant_a.slug}/dashboard", headers=EN).text.split('id="runs"')[1]
    assert "2 invalid value(s), nothing was imported" in runs and "无效值" not in runs


def test_a_malformed_file_refused_in_chinese_reads_in_english_on_the_page_the_api_and_the_cli(
        browser, client, runner, tenant_a, issue_token):
    browser.login(tenant_a, "admin")
    run_url = upload_in_chinese(browser, tenant_a, b"external_id,name\n0043,A\n0044,B,extra\n")
    assert "第 3 行有 3 个值，而表头有 2 列" in html.unescape(browser.get(run_url, headers=ZH).text)
    english = "row 3 has 3 values where the header has 2 columns"
    page = html.unescape(browser.get(run_url, headers=EN).text)
    assert "R" + english[1:] in page and "Rows read" not in page  # refused as a whole: no row was read
    assert "Nothing was imported. Row 3 has" in page and "field '" not in page  # the file is no field

    run_id = run_url.rstrip("/").rsplit("/", 1)[1]
    token = {"Authorization": f"Bearer {issue_token(tenant_a)}"}
    assert client.get(f"/api/v1/import-runs/{run_id}", headers={**token, **EN}).json["message"].startswith(english)
    assert "第 3 行" in client.get(f"/api/v1/import-runs/{run_id}", headers={**token, **ZH}).json["message"]
    from tierwise.platform.cli import cli

    status = runner.invoke(cli, ["import", "status", "--tenant", tenant_a.slug, run_id])
    assert english in status.output and "第 3 行" not in status.output and "field '" not in status.output


def test_a_file_with_a_misnamed_or_missing_column_refused_in_english_reads_in_chinese(browser, tenant_a):
    browser.login(tenant_a, "admin")
    for content, said in ((b"external_id,name,staus\n0043,A,active\n", "staus"),
                          (b"name\nA\n", "external_id")):
        page = browser.get(f"/t/{tenant_a.slug}/imports/", headers=EN)
        response = browser.client.post(f"/t/{tenant_a.slug}/imports/", headers=EN,
                                       content_type="multipart/form-data", data={
                                           "csrf_token": csrf_token_from(page.text), "kind": "customers",
                                           "file": (io.BytesIO(content), "misnamed.csv")})
        assert response.status_code == 302
        english = html.unescape(browser.get(response.location, headers=EN).text)
        chinese = html.unescape(browser.get(response.location, headers=ZH).text)
        assert said in english and said in chinese
        assert ("did you mean" in english or "has no column" in english), english
        assert "did you mean" not in chinese and "has no column" not in chinese and "field '" not in chinese
        assert "未导入任何数据。文件中没有" in chinese or "未导入任何数据。未知的列" in chinese  # no space after 。
        assert "Nothing was imported. The file has no column" in english or "Nothing was imported. Unknown col" in english
        assert "字段“" not in chinese and "field '" not in english  # the message names its column itself


def test_a_file_refused_as_a_whole_reads_without_a_field_wherever_a_person_reads_it(browser, client, runner, tenant_a,
                                                                                    issue_token):
    noise = bytes(range(128, 256)) * 8  # neither UTF-8 nor GBK: not a CSV file at all
    said = "the file is neither UTF-8 nor GBK/GB18030 text"
    token = {"Authorization": f"Bearer {issue_token(tenant_a)}", **EN}
    started = client.post("/api/v1/imports/customers", headers=token, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(noise), "customers.csv")})
    assert started.status_code == 201 and started.json["status"] == "failed"
    assert started.json["message"] == said  # as the run's own address answers
    assert client.get(started.headers["Location"], headers=token).json["message"] == said
    assert started.json["result"]["field"] == "file"  # what the run kept still names the field, for programs
    assert "kept" not in started.json["result"]  # how the run says it again is its own

    browser.login(tenant_a, "admin")
    page = html.unescape(browser.get(upload_in_chinese(browser, tenant_a, noise), headers=EN).text)
    assert f'<div class="flash error">Nothing was imported. T{said[1:]}.</div>' in page  # a sentence of its own
    from tierwise.platform.cli import cli

    status = runner.invoke(cli, ["import", "status", "--tenant", tenant_a.slug, started.json["id"]])
    assert status.exit_code == 1 and f"failed: {said}" in status.stderr


def test_a_file_with_a_header_and_no_rows_refused_in_chinese_reads_in_english(browser, tenant_a):
    browser.login(tenant_a, "admin")
    run_url = upload_in_chinese(browser, tenant_a, b"external_id,name\n")
    assert "Nothing was imported. The file has a header but no rows." in html.unescape(browser.get(run_url, headers=EN).text)


def test_an_empty_file_is_refused_in_a_sentence_of_its_own_in_either_language(browser, tenant_a):
    browser.login(tenant_a, "admin")
    run_url = upload_in_chinese(browser, tenant_a, b"")
    english = html.unescape(browser.get(run_url, headers=EN).text)
    assert '<div class="flash error">Nothing was imported. The file is empty.</div>' in english  # not ". the file"
    chinese = html.unescape(browser.get(run_url, headers=ZH).text)
    assert '<div class="flash error">未导入任何数据。文件为空。</div>' in chinese


def test_a_mapping_to_something_an_import_does_not_fill_names_the_kind_in_the_readers_words(browser, tenant_a):
    browser.login(tenant_a, "admin")
    said = {}
    for language, headers in (("en", EN), ("zh", ZH)):
        page = browser.get(f"/t/{tenant_a.slug}/imports/", headers=headers)
        response = browser.client.post(f"/t/{tenant_a.slug}/imports/", headers=headers,
                                       content_type="multipart/form-data", data={
                                           "csrf_token": csrf_token_from(page.text), "kind": "activity",
                                           "columns": "nickname=amount", "file": (
                                               io.BytesIO(b"customer,occurred_at,amount\n0043,2024-01-05,10\n"),
                                               "activity.csv")})
        said[language] = html.unescape(browser.get(response.location, headers=headers).text
                                       if response.status_code == 302 else response.text)
    assert "'nickname' is not something the Activity import fills" in said["en"]  # not "a activity import"
    assert "“nickname”不是活动记录导入可填写的目标" in said["zh"]  # not "不是 activity 导入"


def test_a_row_and_a_field_are_separated_as_the_readers_language_writes_them(app):
    from flask_babel import force_locale

    from tierwise.errors import ValidationError

    error = ValidationError("is required", row=3, field="amount")
    with app.test_request_context():
        with force_locale("en"):
            assert str(error) == "row 3, field 'amount': is required"
        with force_locale("zh_CN"):
            assert str(error) == "第 3 行，字段“amount”：is required"  # a full-width comma, not ", "


def test_an_activity_files_ignored_columns_are_listed_as_the_readers_language_lists(browser, tenant_a):
    browser.login(tenant_a, "admin")
    upload_in_chinese(browser, tenant_a, b"external_id,name\n0043,A\n")
    page = browser.get(f"/t/{tenant_a.slug}/imports/", headers=ZH)
    response = browser.client.post(f"/t/{tenant_a.slug}/imports/", headers=ZH, content_type="multipart/form-data",
                                   data={"csrf_token": csrf_token_from(page.text), "kind": "activity",
                                         "file": (io.BytesIO("customer,occurred_at,amount,备注,memo\n0043,2025-01-05,10,x,y\n"
                                                             .encode()), "activity.csv")})
    assert response.status_code == 302
    chinese = browser.get(response.location, headers=ZH).text
    assert "<dd>备注、memo</dd>" in chinese
    assert f"<dd>{tenant_a.email('admin')}，" in chinese  # who started it, then when, with the full-width comma
    assert "<dd>备注, memo</dd>" in browser.get(response.location, headers=EN).text


def test_a_refusal_that_names_its_field_is_not_prefixed_with_it_in_chinese(app, tenant_a):
    from flask_babel import force_locale

    from tests.rule_helpers import in_tenant
    from tierwise.errors import ValidationError
    from tierwise.models.runs import TRAIN, start_run

    with in_tenant(app, tenant_a), app.test_request_context(), force_locale("zh_CN"):
        with pytest.raises(ValidationError) as refused:
            start_run(TRAIN, "bogus", started_by="test")
        assert str(refused.value) == "未知模型“bogus”（请选择 churn 或 value）"  # not "字段“model”：未知模型“bogus”…"


def test_a_chinese_header_refused_as_a_field_name_reads_all_in_chinese_on_the_run_page(app, browser, tenant_a,
                                                                                         tmp_path):
    """Run by a worker (which speaks English), the refusal is said again in the reader's language, all of it."""
    from flask_babel import force_locale

    from tests.rule_helpers import in_tenant
    from tierwise.tenants.imports.runs import start_import_run

    path = tmp_path / "c.csv"
    path.write_text("external_id,name,区域\n0043,x,华东\n", encoding="utf-8")
    with in_tenant(app, tenant_a), app.test_request_context(), force_locale("en"):
        run = start_import_run(path, kind="customers", source_name="c.csv", created_by="test",
                               options={"add_fields": True})
        run_id = run.id
    browser.login(tenant_a, "admin")
    chinese = html.unescape(browser.get(f"/t/{tenant_a.slug}/imports/runs/{run_id}", headers=ZH).text)
    said = chinese[chinese.index('<div class="flash error">'):]
    said = said[:said.index("</div>")]
    assert "区域" in said and "is not a field name" not in said, said  # the inner refusal in Chinese too


def test_a_value_in_many_rows_lists_its_rows_as_chinese_lists_them(app):
    from flask_babel import force_locale

    from tierwise.tenants.imports.errors import RowError, rejection_message

    errors = [RowError(row, "收入", "$60K", "is not a number", {"msgid": "is not a number", "params": {}})
              for row in range(2, 12)]
    with app.test_request_context(), force_locale("zh_CN"):
        said = rejection_message(errors, len(errors))
    assert "（2、3、4 等，另有 7 行）" in said, said
