"""Background jobs run per tenant, on RQ with Redis and in-process without it."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from tests.conftest import make_settings
from tierwise.errors import ConflictError, ValidationError
from tierwise.jobs.queue import enqueue, redis_connection
from tierwise.platform import tenancy
from tierwise.platform.app import create_app
from tierwise.platform.branches import Branch
from tierwise.platform.db import db


@pytest.fixture
def rq_app(database_urls, tmp_path, redis_url):
    return create_app(settings=make_settings(database_urls, tmp_path, TIERWISE_REDIS_URL=redis_url))


def branch_codes(app, tenant_id: int) -> set[str]:
    with app.app_context(), tenancy.tenant_scope(tenant_id):
        return set(db.session.scalars(sa.select(Branch.code)))


def test_without_redis_a_job_runs_at_once_inside_its_tenant(app, tenant_a, tenant_b):
    with app.app_context():
        handle = enqueue("tests.job_tasks.open_branch", tenant_id=tenant_a.tenant_id, code="INLINE", name="Inline")
    assert handle.status == "finished"
    assert "INLINE" in branch_codes(app, tenant_a.tenant_id)
    assert "INLINE" not in branch_codes(app, tenant_b.tenant_id)


def test_with_redis_a_worker_runs_the_job_inside_its_tenant(rq_app, tenant_a, tenant_b):
    with rq_app.app_context():
        handle = enqueue("tests.job_tasks.open_branch", tenant_id=tenant_a.tenant_id, code="RQ1", name="Queued")
        assert handle.status == "queued"
        assert "RQ1" not in branch_codes(rq_app, tenant_a.tenant_id)  # not yet: a worker must pick it up
        connection = redis_connection()
        job = Job.fetch(handle.id, connection=connection)
        assert job.meta["tenant_id"] == tenant_a.tenant_id
        SimpleWorker([Queue("short", connection=connection)], connection=connection).work(burst=True)
        assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert "RQ1" in branch_codes(rq_app, tenant_a.tenant_id)
    assert "RQ1" not in branch_codes(rq_app, tenant_b.tenant_id)


def test_a_failing_job_is_marked_failed_and_writes_nothing(rq_app, tenant_a):
    with rq_app.app_context():
        handle = enqueue("tests.job_tasks.open_branch_then_fail", tenant_id=tenant_a.tenant_id, code="HALF")
        connection = redis_connection()
        SimpleWorker([Queue("short", connection=connection)], connection=connection).work(burst=True)
        job = Job.fetch(handle.id, connection=connection)
        assert job.get_status(refresh=True) == JobStatus.FAILED
        assert "task failed after opening HALF" in (job.latest_result().exc_string or "")
    assert "HALF" not in branch_codes(rq_app, tenant_a.tenant_id)


def test_the_same_job_id_cannot_be_queued_twice(rq_app, tenant_a):
    with rq_app.app_context():
        enqueue("tests.job_tasks.open_branch", tenant_id=tenant_a.tenant_id, job_id=f"open-{tenant_a.slug}",
                code="ONCE", name="Once")
        with pytest.raises(ConflictError, match="already queued or running"):
            enqueue("tests.job_tasks.open_branch", tenant_id=tenant_a.tenant_id, job_id=f"open-{tenant_a.slug}",
                    code="ONCE", name="Once")


@pytest.mark.parametrize("task", ["os.system", "tierwise.platform.branches.create_branch",
                                  "tierwise.platform.branches.no_such_function", "nodots"])
def test_only_named_tierwise_tasks_can_be_enqueued(app, tenant_a, task):
    with app.app_context(), pytest.raises(ValidationError) as error:
        enqueue(task, tenant_id=tenant_a.tenant_id)
    assert error.value.field == "task"


def test_a_job_id_can_be_used_again_once_its_job_has_finished_or_failed(rq_app, tenant_a):
    with rq_app.app_context():
        connection = redis_connection()
        worker = SimpleWorker([Queue("short", connection=connection)], connection=connection)
        job_id = f"retry-{tenant_a.slug}"
        enqueue("tests.job_tasks.open_branch_then_fail", tenant_id=tenant_a.tenant_id, job_id=job_id, code="F1")
        worker.work(burst=True)
        enqueue("tests.job_tasks.open_branch", tenant_id=tenant_a.tenant_id, job_id=job_id, code="F2", name="Again")
        worker.work(burst=True)
    assert "F2" in branch_codes(rq_app, tenant_a.tenant_id)


def test_an_in_process_job_leaves_the_callers_session_alone(app, tenant_a):
    from tierwise.platform.users import User

    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        admin = db.session.scalar(sa.select(User).where(User.email == tenant_a.email("admin")))
        enqueue("tests.job_tasks.open_branch", tenant_id=tenant_a.tenant_id, code="SEP", name="Separate")
        assert admin.email == tenant_a.email("admin")  # still attached and usable
        admin.display_name = "pending"
        with pytest.raises(RuntimeError, match="commit before enqueueing"):
            enqueue("tests.job_tasks.open_branch", tenant_id=tenant_a.tenant_id, code="NO", name="No")
        db.session.rollback()
    assert "SEP" in branch_codes(app, tenant_a.tenant_id) and "NO" not in branch_codes(app, tenant_a.tenant_id)


def test_a_worker_acts_as_whoever_queued_the_job_and_the_queue_keeps_no_email_in_its_arguments(rq_app, tenant_a):
    from tierwise.platform.audit import Actor, AuditEvent, acting_as

    admin = tenant_a.users["admin"]
    with rq_app.app_context():
        with acting_as(Actor(label=tenant_a.email("admin"), user_id=admin.id)):
            handle = enqueue("tests.job_tasks.open_branch", tenant_id=tenant_a.tenant_id, code="WHO", name="Who")
        connection = redis_connection()
        job = Job.fetch(handle.id, connection=connection)
        assert tenant_a.email("admin") not in repr(job.args)  # arguments are logged by workers; meta is not
        SimpleWorker([Queue("short", connection=connection)], connection=connection).work(burst=True)
        assert job.get_status(refresh=True) == JobStatus.FINISHED
        with tenancy.tenant_scope(tenant_a.tenant_id):
            event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "branch.created")
                                       .order_by(AuditEvent.occurred_at.desc())).first()
            assert (event.actor_label, event.actor_user_id) == (tenant_a.email("admin"), admin.id)
