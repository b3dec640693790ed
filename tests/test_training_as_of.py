"""The earliest as-of a refusal names is one training takes.

Early in a tenant's history the cutoffs may fit while nobody has churned yet: a
churn model would have one outcome to learn from.  The pre-check refuses such an
as-of before any run is recorded (a 400 on ``as_of``, a usage error on
``--as-of``), and the as-of it suggests is one the pre-check then accepts.
"""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from tests.rule_helpers import in_tenant
from tests.test_api import bearer
from tierwise.models.cutoffs import check_plan
from tierwise.models.days import tenant_midnight
from tierwise.models.runs import ModelRun
from tierwise.platform.cli import cli
from tierwise.platform.db import db

MONTHS = [f"2025-{month:02d}-05" for month in range(1, 13)]


@pytest.fixture
def loyal_then_leaving(client, tenant_a, issue_token):
    """30 customers billed monthly through 2025; from April on, some of them stop each month."""
    token = issue_token(tenant_a)
    customers = [{"external_id": f"L{n:02d}", "name": f"Loyal {n}"} for n in range(30)]
    assert client.post("/api/v1/imports/customers", json={"rows": customers},
                       headers=bearer(token)).status_code == 200
    activity = [{"customer": f"L{n:02d}", "occurred_at": day, "amount": 100 + n}
                for n in range(30) for month, day in enumerate(MONTHS, 1) if n % 2 == 0 or month <= 3 + n // 2 % 9]
    assert client.post("/api/v1/imports/activity", json={"rows": activity},
                       headers=bearer(token)).status_code == 200
    return token


def _runs(app, world) -> int:
    with in_tenant(app, world):
        return db.session.scalar(sa.select(sa.func.count()).select_from(ModelRun))


def test_an_as_of_before_anyone_churned_is_refused_naming_an_as_of_that_works(app, runner, tenant_a,
                                                                             loyal_then_leaving):
    early = runner.invoke(cli, ["train", "--tenant", tenant_a.slug, "--model", "churn", "--as-of", "2025-06-01"])

    assert early.exit_code == 2, early.output
    assert early.stderr.startswith("Error: --as-of: 2025-06-01 is too early"), early.stderr
    later = re.search(r"the earliest as-of that works is (\d{4}-\d{2}-\d{2})", early.stderr).group(1)
    assert _runs(app, tenant_a) == 0
    with in_tenant(app, tenant_a):
        check_plan("churn", 90, as_of=tenant_midnight(date.fromisoformat(later)))  # the day's start: not refused


def test_an_as_of_before_the_first_activity_names_that_activitys_day_on_the_tenants_clock(app, runner, tenant_a,
                                                                                          loyal_then_leaving):
    """The first bills are dated 2025-01-05 in Shanghai (16:00 on the 4th in UTC): the refusal says the 5th."""
    before = runner.invoke(cli, ["train", "--tenant", tenant_a.slug, "--model", "churn", "--as-of", "2024-12-01"])

    assert before.exit_code == 2, before.output
    assert before.stderr.startswith("Error: --as-of: 2024-12-01 is before the tenant's first activity (2025-01-05)"), \
        before.stderr


def test_the_api_refuses_the_same_as_of_before_recording_a_run(app, client, tenant_a, loyal_then_leaving):
    response = client.post("/api/v1/models/train", json={"model": "churn", "as_of": "2025-06-01"},
                           headers=bearer(loyal_then_leaving))

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["field"] == "as_of"
    assert "the earliest as-of that works is" in response.json["error"]["message"]
    assert _runs(app, tenant_a) == 0


def test_the_api_reads_a_day_as_its_start_on_the_tenants_clock_as_the_cli_does(app, client, tenant_a,
                                                                              loyal_then_leaving):
    refused = client.post("/api/v1/models/train", json={"model": "churn", "as_of": "2025-06-01"},
                          headers=bearer(loyal_then_leaving)).json["error"]["message"]
    later = re.search(r"the earliest as-of that works is (\d{4}-\d{2}-\d{2})", refused).group(1)

    response = client.post("/api/v1/models/train", json={"model": "churn", "as_of": later},
                           headers=bearer(loyal_then_leaving))

    assert response.status_code in (201, 202), response.get_data(as_text=True)  # the day named is one that works
    with in_tenant(app, tenant_a):
        run = db.session.scalars(sa.select(ModelRun)).one()
        assert run.as_of == tenant_midnight(date.fromisoformat(later))  # Shanghai's midnight, 16:00 UTC the day before
