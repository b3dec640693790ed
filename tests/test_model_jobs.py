"""Training and scoring as background jobs on real Redis and real RQ workers."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq import Queue, SimpleWorker

from tests.conftest import make_settings
from tests.model_helpers import seed_history
from tests.process_helpers import tierwise_process
from tests.rule_helpers import in_tenant
from tierwise.jobs.queue import redis_connection
from tierwise.models.pipeline import train_model
from tierwise.models.registry import ModelVersion, champion
from tierwise.models.runs import ModelRun, launch_scoring, launch_training
from tierwise.models.scores import CustomerScore
from tierwise.models.scoring import score_all
from tierwise.platform.app import create_app
from tierwise.platform.audit import AuditEvent
from tierwise.platform.db import db


@pytest.fixture
def rq_app(database_urls, tmp_path, redis_url):
    return create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))


def run_state(app, world, run_id) -> ModelRun:
    with in_tenant(app, world):
        run = ModelRun.get(run_id)
        db.session.expunge(run)
        return run


def test_training_and_scoring_run_on_an_rq_worker(rq_app, tenant_a):
    seed_history(rq_app, tenant_a, customers=300, months=18)
    with in_tenant(rq_app, tenant_a):
        run = launch_training("churn", started_by="test")
        assert run.status == "queued"
        run_id = run.id
        connection = redis_connection()
        SimpleWorker([Queue("long", connection=connection)], connection=connection).work(burst=True)
    run = run_state(rq_app, tenant_a, run_id)
    assert run.status == "succeeded" and run.progress == 1.0 and run.version_id is not None
    assert run.summary["champion"] is True and "logistic_regression" in run.summary["metrics"]
    with in_tenant(rq_app, tenant_a):
        scoring_id = launch_scoring(started_by="test").id
        SimpleWorker([Queue("long", connection=redis_connection())], connection=redis_connection()).work(burst=True)
    scoring = run_state(rq_app, tenant_a, scoring_id)
    assert scoring.status == "succeeded" and scoring.summary["customers"] == 300
    with in_tenant(rq_app, tenant_a):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerScore)) == 300
        recorded = {(e.details["job"], e.actor_label) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "model.run"))}
    assert {job for job, _ in recorded} == {"train", "score"} and len({who for _, who in recorded}) == 1, recorded


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def test_a_worker_killed_mid_training_changes_nothing_and_the_run_says_why(
        rq_app, tenant_a, database_urls, tmp_path, redis_url):
    seed_history(rq_app, tenant_a, customers=1500, months=18)
    with in_tenant(rq_app, tenant_a):
        before = train_model("churn", trained_by="test", budget_seconds=5)
        db.session.commit()
        score_all()
        db.session.commit()
        champion_id = before.id
        scores = {r.customer_id: r.churn_probability for r in db.session.scalars(sa.select(CustomerScore))}
        run_id = launch_training("churn", started_by="test").id  # queued on Redis

    worker = tierwise_process(database_urls, tmp_path, redis_url, "worker", "--queues", "long", "--burst")
    try:
        deadline = time.monotonic() + 120
        while run_state(rq_app, tenant_a, run_id).status != "running":
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
        horses = []
        while not horses and time.monotonic() < deadline:
            horses = children(worker.pid)
        os.kill(horses[0], signal.SIGKILL)  # as the kernel's out-of-memory killer would
        _, stderr = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    run = run_state(rq_app, tenant_a, run_id)
    assert run.status == "failed", stderr
    assert "worker process killed: signal 9" in run.message and "nothing it did was kept" in run.message
    with in_tenant(rq_app, tenant_a):
        assert champion("churn").id == champion_id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ModelVersion)) == 1
        assert {r.customer_id: r.churn_probability for r in db.session.scalars(sa.select(CustomerScore))} == scores
        again = launch_training("churn", started_by="test")  # the slot is free again, and no retry took it
        assert again.status == "queued"
