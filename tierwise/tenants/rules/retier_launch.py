"""Starting a retier on behalf of a person: record the run, commit it, queue it.

``start_retier`` and ``queue_retier`` leave the commit between them and the
handling of an in-process failure to the caller; the API and the web UI want
the same answer (the run, which records any failure), so both live here.  A
retier already queued or running is a ConflictError, refused before anything is
recorded (the history lists retiers, not attempts); one refused by the queue in
the instant between (two clicks at once) stays recorded as failed, saying why.
"""
from __future__ import annotations

import logging

from tierwise.errors import ConflictError, TierwiseError
from tierwise.platform.db import db
from tierwise.tenants.rules.assignments import RetierRun
from tierwise.tenants.rules.retier import active_retier, queue_retier, start_retier

log = logging.getLogger(__name__)


def launch_retier(*, started_by: str) -> RetierRun:
    """The recorded run: queued on RQ (``queued``, then ``running`` on a worker), or done without Redis."""
    run = start_retier(started_by=started_by)
    db.session.commit()  # a job reloads its run: it must exist before the job does
    try:
        queue_retier(run.id, tenant_id=run.tenant_id)
    except ConflictError:
        raise
    except TierwiseError:
        pass  # ran in-process and failed: the run records why, for the user to read
    except Exception:
        log.exception("retier run %s failed", run.id)  # recorded on the run as well
    db.session.expire(run)
    return run


def classify_newcomers(inserted: int, *, kind: str, started_by: str) -> RetierRun | None:
    """After an import committed ``inserted`` new customers: a retier, so that none stays unclassified.

    Every customer must have a tier in every dimension; a customer imported after the
    night's retier had none until the next one, so the dashboards counted it as
    unclassified and no list showed it.  The retier is the whole tenant's (rankings such
    as ``top_share`` move with every newcomer), queued on RQ, or done here without Redis.
    Nothing when the import added no customer, when the tenant has never been retiered
    (its first customers usually arrive before their activity: classified then, every
    value tier would be decided on no data, and the first retier is the admin's to
    start), or when a retier is already queued or running (the caller gets None).
    """
    from tierwise.platform import tenancy
    from tierwise.tenants.rules.assignments import last_successful_retier
    from tierwise.tenants.rules.versions import current_version

    if kind != "customers" or inserted <= 0 or current_version() is None:
        return None
    if last_successful_retier(tenancy.current_tenant_id()) is None:
        return None
    waiting = active_retier()
    if waiting is not None:  # queued: it reads the customers when it runs, newcomers included
        return waiting if waiting.status == "queued" else None
    try:
        return launch_retier(started_by=started_by)
    except ConflictError:  # started by someone else in between
        return None
