"""An import reads .csv, .txt and .xlsx files; the upload page, the API and the CLI refuse the same others.

A file with any other name (a PDF sent by mistake, an old .xls workbook, a name
with no extension) is refused on the file before anything is stored or recorded:
no import run, nothing in the upload folder, no customers.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from tests.conftest import Browser, csrf_token_from
from tests.test_field_registry_ui import field_errors
from tests.test_import_inputs import customers, import_cli
from tierwise.platform import tenancy
from tierwise.platform.db import db
from tierwise.tenants.imports.runs import ImportRun

CSV = "external_id,name\n0001,张三\n".encode()
REFUSED_NAMES = ["report.pdf", "customers.xlsm", "customers", "customers.csv.exe", "legacy.xls"]


def workbook() -> bytes:
    book = Workbook()
    book.active.append(["external_id", "name"])
    book.active.append(["0001", "张三"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ACCEPTED = [("customers.csv", CSV), ("CUSTOMERS.CSV", CSV), ("export.txt", CSV), ("book.xlsx", workbook())]


def import_runs(app, world) -> int:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(ImportRun))


def stored_uploads(app, world) -> list[Path]:
    folder = Path(app.config["TIERWISE"].upload_path) / str(world.tenant_id)
    return sorted(folder.glob("*")) if folder.exists() else []


def api_upload(client, token: str, name: str, content: bytes):
    return client.post("/api/v1/imports/customers", headers={"Authorization": f"Bearer {token}"},
                       content_type="multipart/form-data", data={"file": (io.BytesIO(content), name)})


def page_upload(browser: Browser, world, name: str, content: bytes):
    page = browser.get(f"/t/{world.slug}/imports/")
    return browser.client.post(f"/t/{world.slug}/imports/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token_from(page.text), "kind": "customers", "file": (io.BytesIO(content), name)})


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_the_api_refuses_a_file_the_upload_page_refuses_before_storing_or_recording_it(app, client, tenant_a,
                                                                                       issue_token, name):
    response = api_upload(client, issue_token(tenant_a, "admin"), name, CSV)

    assert response.status_code == 400, response.data
    error = response.get_json()["error"]
    assert error["field"] == "file"  # for a program; the message, for a person, is not "field 'file': ..."
    if name.endswith(".xls"):
        assert error["message"] == "old .xls workbooks are not supported: save as .xlsx or CSV"
    else:
        assert error["message"] == f"'{name}' cannot be imported: an import reads .csv, .txt, .xlsx files"
    assert import_runs(app, tenant_a) == 0
    assert stored_uploads(app, tenant_a) == []
    assert customers(app, tenant_a) == {}


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_the_upload_page_refuses_the_same_names_on_the_file_input(app, browser, tenant_a, name):
    browser.login(tenant_a, "admin")

    response = page_upload(browser, tenant_a, name, CSV)

    assert response.status_code == 400
    assert field_errors(response.text, "file"), response.text
    assert import_runs(app, tenant_a) == 0 and stored_uploads(app, tenant_a) == []


@pytest.mark.parametrize("name,content", ACCEPTED, ids=[name for name, _content in ACCEPTED])
def test_the_upload_page_and_the_api_both_import_csv_txt_and_xlsx_whatever_the_case(app, browser, client, tenant_a,
                                                                                    issue_token, name, content):
    browser.login(tenant_a, "admin")
    assert page_upload(browser, tenant_a, name, content).status_code == 302

    response = api_upload(client, issue_token(tenant_a, "admin"), name, content)

    assert response.status_code == 201, response.data
    assert response.get_json()["status"] == "succeeded", response.get_json()
    assert customers(app, tenant_a)["0001"].name == "张三"


@pytest.mark.parametrize("background", [False, True], ids=["in-process", "background"])
def test_the_cli_refuses_the_same_names_in_process_and_in_the_background(app, tmp_path, tenant_a, runner,
                                                                         background):
    path = tmp_path / "customers.pdf"
    path.write_bytes(CSV)

    result = import_cli(runner, tenant_a, "customers", path, *(["--background"] if background else []))

    assert result.exit_code == 2
    assert result.stderr.strip() == ("Error: PATH: 'customers.pdf' cannot be imported: "
                                     "an import reads .csv, .txt, .xlsx files")
    assert customers(app, tenant_a) == {} and import_runs(app, tenant_a) == 0
