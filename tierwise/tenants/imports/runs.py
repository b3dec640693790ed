"""Import runs: an uploaded file imported in the background, with progress anyone can watch.

The web upload and the API file upload store the file under the upload folder
(shared by web and worker machines), record an ``ImportRun`` and enqueue
``run_import_job``.  The job writes its progress (rows read, rate) through a
separate connection, so it is visible while the import's own transaction is
still open; the import itself stays all-or-nothing.
"""
from __future__ import annotations

import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from tierwise.errors import TierwiseError, ValidationError, said_again
from tierwise.jobs.runner import task
from tierwise.platform import tenancy
from tierwise.platform.db import JSONType, TenantScoped, db, rollback_or_discard, utcnow
from tierwise.platform.policy import IMPORT_RIGHTS
from tierwise.tenants.imports.errors import ImportRejected, RowError, counts_from, rejection_message
from tierwise.tenants.imports.mappings import check_save_as, import_mapped, optional_targets, resolve_mapping
from tierwise.tenants.imports.reading import check_file_name
from tierwise.tenants.imports.specs import KINDS

STATUSES = ("queued", "running", "succeeded", "failed")


class ImportRun(TenantScoped, db.Model):
    __tablename__ = "import_runs"
    __table_args__ = (sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),)
    noun = _l("import run")

    kind: Mapped[str] = mapped_column(sa.String(32))
    source_name: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    options: Mapped[dict] = mapped_column(JSONType, default=dict)
    rows_read: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rows_per_second: Mapped[float | None]
    result: Mapped[dict | None] = mapped_column(JSONType)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    def said_message(self) -> str:
        """The outcome in the current reader's language: a refused file's count and errors, or a file-level
        refusal (a malformed table, a missing column), said again from what the run kept; any other message as
        stored.  A file-level refusal names the file or the column at fault in its own words, so it is said
        without the field it was raised with ("field 'external_id': the file has no column for 'external_id'")."""
        result = self.result or {}
        if self.status == "failed" and "total" in result:
            return rejection_message([RowError(**e) for e in result.get("errors", [])], result["total"],
                                     counts_from(result.get("counts")))  # of the whole file, not the 200 kept
        if self.status == "failed" and result.get("kept"):
            return str(ValidationError(said_again(result["kept"]), row=result.get("row")))
        return self.message


def upload_folder() -> Path:
    return Path(current_app.config["TIERWISE"].upload_path)


def rights(options: dict) -> dict[str, bool]:
    """What the user who started a run may do through it (``policy.import_rights``, kept with its options)."""
    return {name: bool(options.get(name, True)) for name in IMPORT_RIGHTS}


def start_import_run(source, *, kind: str, source_name: str, created_by: str, options: dict | None = None,
                     mapping_name: str | None = None, save_as: str | None = None) -> ImportRun:
    """Keep the file, record the run and commit it, then enqueue the job (or run it, without Redis).

    ``source`` is a path, or an upload with ``save(path)`` (a Werkzeug ``FileStorage``),
    which is written straight to the upload folder: a large file is written once.
    The saved mapping ``mapping_name`` is resolved now (``options["mapping"]`` overrides
    it target by target) and ``save_as`` checked now, so a wrong name is refused before
    any file is stored; the job saves the mapping as ``save_as`` when the import succeeds.
    """
    from tierwise.jobs.queue import enqueue

    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in source_name):
        raise ValidationError(_("the file's name holds control characters: rename it and try again"), field="file")
    check_file_name(source_name)
    if isinstance(source, Path) and not source.is_file():
        raise ValidationError(_("no such file: %(path)s", path=source), field="file")
    options = dict(options or {})
    options["optional_targets"] = optional_targets(mapping_name, options.get("mapping"), kind=kind)
    options["mapping"] = resolve_mapping(kind, saved_name=mapping_name, explicit=options.get("mapping"))
    options["mapping_name"] = mapping_name or None
    options["save_mapping"] = check_save_as(save_as, options["mapping"])
    run = ImportRun(kind=kind, source_name=source_name[:255], created_by=created_by, options=options)
    db.session.add(run)
    db.session.flush()
    stored = _stored_file(run, Path(source_name).suffix.lower() or ".csv")
    stored.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):
        shutil.copyfile(source, stored)
    else:
        source.save(stored)
    db.session.commit()
    try:
        enqueue("tierwise.tenants.imports.runs.run_import_job", tenant_id=run.tenant_id, queue="long",
                job_id=f"import-{run.tenant_id}-{run.id}", timeout=6 * 3600, import_run_id=str(run.id))
    except TierwiseError:
        pass  # ran in-process and failed on the data: the run records why, for the user to read
    except Exception:
        current_app.logger.exception("import run %s failed", run.id)  # recorded on the run as well
    db.session.expire(run)
    return run


def _stored_file(run: ImportRun, suffix: str = "") -> Path:
    folder = upload_folder() / str(run.tenant_id)
    if not suffix:
        matches = sorted(folder.glob(f"{run.id}.*"))
        return matches[0] if matches else folder / f"{run.id}.csv"
    return folder / f"{run.id}{suffix}"


def import_lost(params: dict, reason: str) -> None:
    """The job's worker died under it: the run failed, nothing was imported (one transaction), the file goes."""
    run = db.session.scalar(sa.select(ImportRun).where(ImportRun.id == uuid.UUID(params["import_run_id"])))
    if run is not None and run.status in ("queued", "running"):
        run.status, run.finished_at = "failed", utcnow()
        run.message = f"the worker stopped before the import finished ({reason}); nothing was imported"
        _stored_file(run).unlink(missing_ok=True)


@task(on_lost=import_lost)
def run_import_job(import_run_id: str) -> dict:
    """Run a recorded import; marks the run failed (and re-raises) on any error."""
    run = ImportRun.get(uuid.UUID(import_run_id))
    path = _stored_file(run)
    started = time.perf_counter()
    _set_progress(run, status="running", started_at=utcnow())

    live_progress = db.engine.dialect.name == "postgresql"  # SQLite allows one writer: report at the end

    def progress(rows: int) -> None:
        if live_progress:
            _set_progress(run, rows_read=rows, rows_per_second=rows / max(time.perf_counter() - started, 1e-6))

    try:
        result = import_mapped(path, kind=run.kind, mapping=run.options.get("mapping") or {},
                               save_as=run.options.get("save_mapping"),
                               skip_invalid=bool(run.options.get("skip_invalid")),
                               add_fields=bool(run.options.get("add_fields")), progress=progress,
                               source_name=run.source_name, optional=run.options.get("optional_targets") or (),
                               **rights(run.options))
        result.source = run.source_name
        run.status, run.finished_at = "succeeded", utcnow()
        run.rows_read, run.rows_per_second = result.rows_read, result.rows_read / max(result.seconds, 1e-6)
        run.result = {**result.summary(), "errors": [e.__dict__ for e in result.errors[:200]]}
        db.session.commit()
        from tierwise.tenants.rules.retier_launch import classify_newcomers
        from tierwise.tenants.rules.warmup import AFTER_NEW_DATA, queue_warmup

        try:
            retier = classify_newcomers(result.inserted, kind=result.kind, started_by=f"import {run.source_name}"[:254])
            if retier is not None:  # the run's page says so
                run = ImportRun.get(run.id)
                run.result = {**run.result, "retier_run_id": str(retier.id)}
            db.session.commit()
        except Exception:  # the import stands; the next retier (a schedule, a person) classifies them
            db.session.rollback()
            current_app.logger.exception("could not start the retier after import run %s", run.id)
        queue_warmup(run.tenant_id, AFTER_NEW_DATA)  # the next preview reads the new data: keep it ready
        return result.summary()
    except BaseException as exc:  # a job's time limit too, possibly in the middle of a statement
        rollback_or_discard()
        rejected = isinstance(exc, ImportRejected)
        details = ({"errors": [e.__dict__ for e in exc.errors[:200]], "total": exc.total,
                    "counts": exc.kept_counts(exc.errors[:200]), "rejected": exc.rejected_rows}
                   if rejected else _kept_refusal(exc))
        read = {"rows_read": exc.rows_read} if rejected else {}  # without live progress (SQLite) it was never set
        _set_progress(run, status="failed", finished_at=utcnow(), message=str(exc)[:4000], result=details, **read)
        raise
    finally:
        path.unlink(missing_ok=True)


def _kept_refusal(exc: BaseException) -> dict | None:
    """What a refusal of the whole file keeps to be said again in its reader's language (``said_message``)."""
    if not isinstance(exc, ValidationError) or not exc.kept:
        return None
    return {"kept": exc.kept, "field": exc.field, "row": exc.row}


def _set_progress(run: ImportRun, **values) -> None:
    """Write progress on a connection of its own, committed at once (the import's transaction is still open)."""
    table = ImportRun.__table__
    with db.engine.begin() as connection:
        tenancy.set_rls_tenant(connection, run.tenant_id)
        connection.execute(sa.update(table).where(table.c.tenant_id == run.tenant_id, table.c.id == run.id)
                           .values(**values))


def find_run(run_id: str) -> ImportRun | None:
    """The run with this id (as typed, e.g. on the command line) in the current tenant, or None."""
    try:
        parsed = uuid.UUID(str(run_id).strip())
    except ValueError:
        return None
    return db.session.scalar(sa.select(ImportRun).where(ImportRun.id == parsed))


def list_runs(limit: int = 20) -> list[ImportRun]:
    return list(db.session.scalars(sa.select(ImportRun).order_by(ImportRun.created_at.desc()).limit(limit)))

