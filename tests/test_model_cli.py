"""``tierwise train``, ``tierwise score`` and ``tierwise export`` as an operator uses them."""
from __future__ import annotations

import csv
import re

from tests.model_helpers import seed_history
from tests.rule_helpers import in_tenant
from tierwise.platform.audit import AuditEvent
from tierwise.platform.cli import cli
from tierwise.platform.db import db

import sqlalchemy as sa


def tierwise(runner, *args: str):
    return runner.invoke(cli, list(args))


def test_train_score_and_export_from_the_command_line(app, runner, tenant_b, tmp_path):
    seed_history(app, tenant_b, industry="power_utility", customers=400, months=18)
    trained = tierwise(runner, "train", "--tenant", tenant_b.slug, "--model", "churn")
    assert trained.exit_code == 0, trained.output
    out = trained.output
    assert "churn model version 1 (champion)" in out and "horizon 90 days (3 calendar months)" in out
    for column in ("roc_auc", "pr_auc", "lift_top10", "capture_top10", "brier"):
        assert column in out
    assert "logistic_regression" in out and "recency_rule" in out
    assert re.search(r"(beats|does NOT beat|level with) recency_rule on roc_auc", out)

    value = tierwise(runner, "train", "--tenant", tenant_b.slug, "--model", "value", "--horizon-days", "120")
    assert value.exit_code == 0, value.output
    assert "horizon 120 days" in value.output and "last_period_carried_forward" in value.output

    scored = tierwise(runner, "score", "--tenant", tenant_b.slug)
    assert scored.exit_code == 0, scored.output
    assert "Scored 400 customers" in scored.output and "churn v1" in scored.output
    assert "drift (churn)" in scored.output or "drift alert (churn)" in scored.output  # said either way
    assert f"see the new scores at the next retier: `tierwise retier --tenant {tenant_b.slug}`" in scored.output

    target = tmp_path / "all.csv"
    exported = tierwise(runner, "export", "--tenant", tenant_b.slug, "--out", str(target))
    assert exported.exit_code == 0, exported.output
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads the Chinese names as UTF-8
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert len(rows) == 400
    assert {"external_id", "tier_value", "tier_high_risk", "tier_opinion_risk", "churn_probability",
            "predicted_value"} <= set(rows[0])
    probabilities = [r["churn_probability"] for r in rows if r["churn_probability"] != ""]  # "": lapsed
    assert len(probabilities) > 300 and all(0 <= float(p) <= 1 for p in probabilities)
    with in_tenant(app, tenant_b):
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.created")).one()
        assert event.details["rows"] == 400 and len(event.details["sha256"]) == 64

    high_risk = tierwise(runner, "export", "--tenant", tenant_b.slug, "--out", str(tmp_path / "hr.csv"),
                         "--list", "high_risk")
    assert high_risk.exit_code == 0, high_risk.output


def test_bad_arguments_name_what_is_wrong_and_change_nothing(app, runner, tenant_a, tmp_path):
    bad_date = tierwise(runner, "train", "--tenant", tenant_a.slug, "--model", "churn", "--as-of", "30/06/2025")
    assert bad_date.exit_code != 0 and "--as-of" in bad_date.output
    no_data = tierwise(runner, "train", "--tenant", tenant_a.slug, "--model", "churn")
    assert no_data.exit_code != 0 and "no activity yet" in no_data.output
    unknown_list = tierwise(runner, "export", "--tenant", tenant_a.slug, "--out", str(tmp_path / "x.csv"),
                            "--list", "vips")
    assert unknown_list.exit_code != 0 and "unknown list 'vips'" in unknown_list.output
    assert not (tmp_path / "x.csv").exists()
    no_model = tierwise(runner, "score", "--tenant", tenant_a.slug)
    assert no_model.exit_code != 0 and "no champion model" in no_model.output
