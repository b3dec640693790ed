"""Preparing the next previews in the background: a snapshot of the rule set in force after new data.

A preview with nothing to reuse aggregates every activity row in the longest
window and ranks every customer (half a minute at a million customers); one
that reuses a snapshot recomputes only what the draft changed (a few seconds).
Left to the previews, the first one after each night's retier is the slow one,
and an administrator sits through it.  So when a retier succeeds on a worker, a
job keeps the snapshot of the rule set in force at the retier's moment.  The
next day's previews answer from it (``snapshot.REUSE_WITHIN``), and they compare
with an assignment made from the same values at the same moment: the published
rules preview with nobody moving, so what a draft's matrix shows is the draft's
doing alone.

An import or a scoring run changes what previews read, so the snapshot of the
retier goes stale with it.  When one succeeds on a worker, the same job keeps
a snapshot of *that* moment (``AFTER_NEW_DATA``): the administrator who imports
and then opens the editor finds the first preview warm as well.  It compares
with the assignment of the last retier, so it shows what the new data moves.

Only with a worker (``TIERWISE_REDIS_URL``): in-process, warming would keep
whoever started the retier waiting for work they did not ask for, and the first
preview keeps the snapshot itself, as it always has.  PostgreSQL only, as
snapshots are.
"""
from __future__ import annotations

from flask import current_app

from tierwise.errors import ConflictError
from tierwise.jobs.runner import task
from tierwise.platform import tenancy
from tierwise.tenants.activity import rules_moment
from tierwise.tenants.rules import snapshot
from tierwise.tenants.rules.assignments import last_successful_retier
from tierwise.tenants.rules.preview import prepare
from tierwise.tenants.rules.versions import compile_for_tenant, current_version

JOB_TIMEOUT_SECONDS = 3600  # a preview from scratch takes about 10 minutes at 10M customers
AFTER_RETIER, AFTER_NEW_DATA = "retier", "new_data"  # the moment a warm-up keeps: the retier's, or its own


def warm(after: str = AFTER_RETIER) -> bool:
    """Keep the snapshot of the rule set in force; whether one was kept.

    ``AFTER_RETIER``: at the last retier's moment.  ``AFTER_NEW_DATA``: now, unless a
    recent snapshot of today's data is kept already (what a preview would reuse).
    Nothing to do when the rule set in force has not been retiered yet (its own
    retier will warm), or when a snapshot of this moment and this data is kept already.
    """
    if not snapshot.available():
        return False
    version = current_version()
    last = last_successful_retier(tenancy.current_tenant_id())
    if version is None or last is None or last.rule_version_id != version.id:
        return False
    as_of = last.as_of if after == AFTER_RETIER else None
    reuse, generation = snapshot.usable(as_of)
    if reuse is not None:
        return False
    return prepare(compile_for_tenant(version.parsed()), as_of=as_of or rules_moment(), generation=generation)


@task
def warm_job(after: str = AFTER_RETIER) -> dict:
    """``warm`` as a background task, queued by ``queue_warmup``."""
    return {"kept": warm(after)}


def queue_warmup(tenant_id: int, after: str = AFTER_RETIER) -> None:
    """Queue ``warm_job`` on the long queue, once per tenant at a time; nothing without Redis.

    Called when a retier, an import or a scoring run succeeds on a worker.  A warm-up
    already queued is left to do the work: it reads the last retier and the data as
    they are when it runs.  One already running describes earlier data; what it keeps
    is stale at once (``snapshot.keep`` checks), and the first preview keeps the
    snapshot instead.
    """
    from tierwise.jobs.queue import enqueue, redis_connection

    if redis_connection() is None:
        return
    try:
        enqueue("tierwise.tenants.rules.warmup.warm_job", tenant_id=tenant_id, queue="long",
                job_id=f"preview-warm-{tenant_id}", timeout=JOB_TIMEOUT_SECONDS, after=after)
    except ConflictError:
        pass
    except Exception:  # a warm-up only saves a later wait: the work that asked for it has succeeded regardless
        current_app.logger.exception("could not queue the preview warm-up of tenant %s", tenant_id)
