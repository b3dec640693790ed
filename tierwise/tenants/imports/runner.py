"""Running an import: read, plan, parse, stage, check, merge, all in the caller's transaction.

The caller commits on success and rolls back on any exception; until then
nothing is visible, so a failed import leaves the tenant's data exactly as it
was.  With ``skip_invalid`` the valid rows are applied and every rejected row
is written, with its reason, to a CSV file.
"""
from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.errors import PermissionDeniedError, Phrases, ValidationError
from tierwise.platform import audit, tenancy
from tierwise.platform.change_context import changes_because
from tierwise.platform.db import db, utcnow
from tierwise.platform.tenant import Tenant
from tierwise.tenants.category_labels import label_spellings
from tierwise.tenants.customers import default_party_type
from tierwise.tenants.fields import MAX_LABEL, FieldGroup, define_field, field_registry
from tierwise.tenants.imports import constants, loading, parsing
from tierwise.tenants.imports.errors import ImportRejected, RowError, keep, row_errors
from tierwise.tenants.imports.planning import ColumnPlan, plan_columns
from tierwise.tenants.imports.reading import CHUNK_ROWS, Chunk, open_table
from tierwise.tenants.imports.rejects import RejectsFile
from tierwise.tenants.imports.specs import BUILT_IN_TARGETS, Target
from tierwise.tenants.rules import snapshot

KEPT_ERRORS = 10_000  # kept in memory for messages; all are counted and written to the rejects file
DECIMAL_COMMA = _l("has a comma that does not group thousands (write 1234.5 or 1,234.5; a decimal comma is not read)")
TOO_LARGE = _l("is too large: an amount has at most 15 digits before the decimal point")
YEAR_LAST = _l("has the year last, and no date in the file tells whether its day or its month comes first (3/4/2024: "
              "4 March or 3 April? a 13/4/2024 or a 4/13/2024 would say): write dates year first, such as "
              "2024-03-04 13:45 (in Excel, format the column as yyyy-mm-dd hh:mm)")
API_BATCH = "api batch"  # the name a JSON batch is recorded under (runs, audit, assignment history)
Progress = Callable[[int], None]


@dataclass
class ImportResult:
    kind: str
    source: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    added_fields: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    recognised_columns: dict[str, str] = field(default_factory=dict)  # target -> column, by a spelling or a label
    rejects_path: str | None = None
    seconds: float = 0.0
    # Rows dated after the import (a bill issued ahead of its period): kept, and said, since rules, models and
    # dashboards read the data up to now (``activity.rules_moment``, ``data_end``) and leave them out till then.
    dated_ahead: int = 0
    latest_ahead: datetime | None = None
    # How the file's dates with the year last were read, where it wrote any (``parsing.MONTH_FIRST``, ``DAY_FIRST``)
    date_order: str | None = None
    set_values: dict[str, str] = field(default_factory=dict)  # target -> the value set for every row (``constants``)

    def summary(self) -> dict:
        return {"kind": self.kind, "source": self.source, "rows_read": self.rows_read, "inserted": self.inserted,
                "updated": self.updated, "unchanged": self.unchanged, "rejected": self.rejected,
                "added_fields": self.added_fields, "ignored_columns": self.ignored_columns,
                "recognised_columns": self.recognised_columns,
                "rejects_path": self.rejects_path, "seconds": round(self.seconds, 3),
                "dated_ahead": self.dated_ahead,
                "latest_ahead": self.latest_ahead.isoformat() if self.latest_ahead else None,
                "date_order": self.date_order, "set_values": self.set_values}


class FrameSource:
    """Rows already in memory (a JSON batch from the API), read like a file.

    Its rows are numbered as the caller sent them, from 0 (the index into the
    batch, not a spreadsheet row); ``import_records`` says so in the errors.
    """

    def __init__(self, records: list[dict]) -> None:
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise ValidationError(_("send a non-empty list of objects"), field="rows")
        for index, record in enumerate(records):  # a cell holds one value: a list's text is no value of any type
            for key, value in record.items():
                if isinstance(value, (list, dict)):
                    raise ValidationError(_("must be one value (text, a number, true or false), not a list or an "
                                            "object"), field=f"rows[{index}].{key}")
        columns = list(dict.fromkeys(key for record in records for key in record))
        frame = pd.DataFrame(records, columns=columns).astype(object)
        self.columns = [str(c) for c in columns]
        self.frame = frame.where(frame.notna(), "").map(lambda v: v if isinstance(v, str) else str(v)).astype(str)
        self.frame.columns = self.columns

    def chunks(self, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
        for start in range(0, len(self.frame), chunk_rows):
            frame = self.frame.iloc[start:start + chunk_rows].reset_index(drop=True).apply(lambda c: c.str.strip())
            yield Chunk(frame=frame, rows=pd.Series(np.arange(start, start + len(frame)), index=frame.index))


def import_file(path: str | Path, *, kind: str, mapping: dict[str, str] | None = None, skip_invalid: bool = False,
                add_fields: bool = False, rejects_path: str | Path | None = None,
                progress: Progress | None = None, may_assign: bool = True, may_add_fields: bool = True,
                source_name: str | None = None, optional: list[str] | tuple = ()) -> ImportResult:
    """Import a CSV or XLSX file into the current tenant (``may_assign``, ``may_add_fields``: see ``_run``).

    ``source_name``: the file's name as its owner knows it (an upload is stored under an id), which the
    audit log and the customers' assignment history say it came from.  ``optional``: targets of
    ``mapping`` whose column the file may leave out (a saved mapping's, ``mappings.optional_targets``).
    """
    source = open_table(path)
    required = {target.name for target in BUILT_IN_TARGETS[kind] if target.required} if kind in BUILT_IN_TARGETS \
        else set()
    mapping = {target: column for target, column in (mapping or {}).items()  # a set value is always there
               if target not in optional or target in required or column in source.columns
               or column.startswith(constants.SET_PREFIX)}
    return _run(source, name=source_name or Path(path).name, kind=kind, mapping=mapping,
                skip_invalid=skip_invalid, add_fields=add_fields, rejects_path=rejects_path, progress=progress,
                may_assign=may_assign, may_add_fields=may_add_fields)


def import_records(records: list[dict], *, kind: str, mapping: dict[str, str] | None = None,
                   skip_invalid: bool = False, add_fields: bool = False, may_assign: bool = True,
                   may_add_fields: bool = True) -> ImportResult:
    """Import a JSON batch (a list of objects keyed by column) into the current tenant.

    An error names the record by its place in ``records``: ``rows[0]`` is the first.
    """
    try:
        result = _run(FrameSource(records), name=API_BATCH, kind=kind, mapping=mapping or {},
                      skip_invalid=skip_invalid, add_fields=add_fields, rejects_path=None, progress=None,
                      may_assign=may_assign, may_add_fields=may_add_fields)
    except ImportRejected as rejected:
        raise ImportRejected([error.in_batch() for error in rejected.errors], total=rejected.total,
                             counts=rejected.counts) from None
    result.errors = [error.in_batch() for error in result.errors]
    return result


def _run(source, *, name: str, kind: str, mapping: dict[str, str], skip_invalid: bool, add_fields: bool,
         rejects_path, progress: Progress | None, may_assign: bool = True, may_add_fields: bool = True
         ) -> ImportResult:
    """What whoever imports may do through the import (``policy.import_rights``), checked before anything is read:

    ``may_assign``: give customers to RMs.  An ``rm_email`` column assigns every customer
    of the file, moving existing ones between books, so without the right a file carrying
    one is refused.  ``may_add_fields``: ``add_fields`` adds the registry's fields.
    """
    if add_fields and not may_add_fields:
        raise PermissionDeniedError(_("adding fields to the registry is for tenant admins: import without "
                                      "add_fields, or ask one"))
    tenant_id = tenancy.current_tenant_id()
    if tenant_id is None:
        raise tenancy.TenantContextMissing("imports run inside a tenant scope")
    started = time.perf_counter()
    result = ImportResult(kind=kind, source=name)
    batch = isinstance(source, FrameSource)
    result.set_values = constants.constants_of(mapping)  # said by the audit log and the API, as typed
    source, mapping = constants.with_constants(source, mapping, kind, batch=batch)  # values set for every row
    chunks = source.chunks()
    first = next(chunks, None)
    plan = plan_columns(kind, source.columns, mapping, field_registry(), add_fields=add_fields,
                        sample=first.frame if first is not None else None, batch=batch)
    tenant = db.session.get(Tenant, tenant_id)
    timezone = tenant.timezone  # local times in the file are the tenant's
    if not may_assign and any(target.name == "rm_email" for target, _source in plan.targets):
        raise PermissionDeniedError(_("an rm_email column gives customers to relationship managers, which only a "
                                      "tenant admin may do: leave the column out, or ask one"))
    constants.check_values(source, plan.targets, lambda target, value: _set_value_refusal(target, value, timezone,
                                                                                        tenant_id))
    result.ignored_columns, result.recognised_columns = plan.ignored, plan.recognised
    for field_name, field_type in plan.new_fields.items():
        # The file's header is the field's label: reasons and pages read "IsActiveMember" or 客户经理, not the
        # name made of it (isactivemember); a Chinese header is no English label (the name stands in for one)
        header = plan.new_field_sources.get(field_name, "")
        header = header.removeprefix(constants.SET_PREFIX)[:MAX_LABEL]  # a value set for every row: its target
        define_field(name=field_name, field_type=field_type.value, field_group=FieldGroup.PROFILE.value,
                     label_zh=header, label_en=header if header.isascii() else "",
                     description=f"added by importing {name}")
        result.added_fields.append(field_name)
    if plan.new_fields:
        db.session.flush()
        plan = plan_columns(kind, source.columns, mapping, field_registry(), batch=batch)
    result.date_order = _date_order(source, first, [column for target, column in plan.targets
                                                    if target.kind in ("date", "datetime")])
    connection = db.session.connection()
    targets = [target for target, _source in plan.targets]
    if kind == "customers":
        stage = loading.create_stage(connection, targets, [sa.Column("new_id", sa.Uuid(as_uuid=False))])
    else:  # the merge SQL reads every column; absent optional ones stay NULL
        stage = loading.create_stage(connection, list(BUILT_IN_TARGETS[kind]))
    errors: list[RowError] = []
    counts: dict[tuple, int] = {}  # errors by column, value and reason, beyond those kept (``errors.keep``)
    error_count = rejected_rows = 0
    rejects = RejectsFile(Path(rejects_path)) if skip_invalid and rejects_path is not None else None
    try:
        for chunk in itertools.chain([first] if first is not None else [], chunks):
            typed, chunk_errors = parse_chunk(chunk, plan, timezone, result.date_order)
            error_count += len(chunk_errors)
            keep(errors, counts, chunk_errors, KEPT_ERRORS)
            bad_rows = {e.row for e in chunk_errors}
            rejected_rows += len(bad_rows)
            if rejects is not None:
                rejects.write(chunk_errors)
            good = typed[~typed["row_no"].isin(bad_rows)]
            if "occurred_at" in good:
                _count_ahead(result, good["occurred_at"], timezone)
            if kind == "customers":
                good = good.assign(new_id=new_ids(len(good)))
            loading.copy_into(connection, stage, good)
            result.rows_read += len(typed)
            if progress:
                progress(result.rows_read)
        if result.rows_read == 0:
            raise ValidationError(_l("the file has a header but no rows"), field="file")  # said again per reader
        loading.prepare_for_joins(connection, loading.STAGE, ["external_id"] if kind == "customers" else ["customer"])
        sql_errors = _reference_errors(connection, tenant_id, plan)
        error_count += len(sql_errors)
        rejected_rows += len({e.row for e in sql_errors})
        keep(errors, counts, sql_errors, KEPT_ERRORS)
        if rejects is not None:
            rejects.write(sql_errors)
        if errors and not skip_invalid:
            raise ImportRejected(errors, total=error_count, rows_read=result.rows_read, rejected_rows=rejected_rows,
                                 counts=counts)
        loading.drop_rows(connection, {e.row for e in sql_errors})
        with changes_because(f"import of {name}"):  # the RM assignment history says where a change came from
            counts = {"customers": lambda: loading.merge_customers(connection, tenant_id, targets,
                                                                   default_party_type(tenant.industry)),
                      "activity": lambda: loading.merge_activity(connection, tenant_id),
                      "interactions": lambda: loading.merge_interactions(connection, tenant_id)}[kind]()
        loading.drop_stage(connection)  # on failure the rollback takes the temporary tables with it
        snapshot.data_changed()  # last, so the tenant's row is locked only until the commit
    finally:
        if rejects is not None:
            rejects.close()
            if not error_count:
                rejects.path.unlink(missing_ok=True)
    result.inserted, result.updated, result.unchanged = counts.inserted, counts.updated, counts.unchanged
    result.errors = sorted(errors, key=lambda e: (e.row, e.column))
    result.rejected = rejected_rows
    if rejects is not None and error_count:
        result.rejects_path = str(rejects.path)
    result.seconds = time.perf_counter() - started
    audit.record("import.completed", target_type="import", target_id=kind,  # "dated after today: 0" says nothing
                 details={key: value for key, value in result.summary().items()
                          if key not in ("dated_ahead", "latest_ahead", "set_values") or value})
    return result


def _count_ahead(result: ImportResult, moments: pd.Series, timezone: str) -> None:
    """Add the rows of ``moments`` dated after today (the tenant's) to ``result.dated_ahead``, and the latest."""
    tomorrow = (pd.Timestamp(utcnow()).tz_convert(timezone).normalize() + pd.Timedelta(days=1)).tz_convert("UTC")
    ahead = moments[moments >= tomorrow]
    if not ahead.empty:
        result.dated_ahead += len(ahead)
        latest = ahead.max().to_pydatetime()
        result.latest_ahead = latest if result.latest_ahead is None else max(result.latest_ahead, latest)


def _date_order(source, first: Chunk | None, columns: list[str]) -> str | None:
    """How the file writes its dates with the year last, where the file tells: month first if some
    cell's second part is past 12 (12/13/2010) and none's first, day first the other way round.

    One cell cannot say whether 12/1/2010 is 1 December or 12 January, but a US export of a year's
    orders writes 12/13/2010 too.  Read only when the first chunk has such a cell, from the start
    until a chunk tells (an extra read of the file only where its first chunk does not).  None: no
    such cells, or none tells, or the file writes both ways; its year-last cells are then refused.
    """
    if first is None or not any(parsing.year_last(first.frame[c]).any() for c in columns):
        return None
    month_first = day_first = False
    for chunk in itertools.chain([first], itertools.islice(source.chunks(), 1, None)):
        for column in columns:
            shows_month, shows_day = parsing.year_last_order(chunk.frame[column])
            month_first, day_first = month_first or shows_month, day_first or shows_day
        if month_first != day_first:
            return parsing.MONTH_FIRST if month_first else parsing.DAY_FIRST
        if month_first and day_first:
            return None
    return None


def parse_chunk(chunk: Chunk, plan: ColumnPlan, timezone: str,
                date_order: str | None = None) -> tuple[pd.DataFrame, list[RowError]]:
    """Typed columns for one chunk, plus an error for every bad cell.  ``date_order``: the file's (``_date_order``)."""
    typed = pd.DataFrame({"row_no": chunk.rows})
    errors: list[RowError] = []
    for target, source in plan.targets:
        raw = chunk.frame[source]
        dated = target.kind in ("date", "datetime") and date_order is not None
        values, bad = _parse(target, parsing.year_first(raw, date_order) if dated else raw, timezone)
        if target.required:
            missing = parsing.empty(raw)
            errors += row_errors(chunk.rows[missing], source, raw[missing], _l("is required"))
            bad = bad & ~missing
        if target.kind in ("number", "integer"):
            said, bad = _number_errors(chunk, source, raw, bad)
            errors += said
        if target.kind in ("date", "datetime") and bad.any():  # 202413, 2024年13月: say which month, not "a date"
            months = parsing.impossible_months(raw.where(bad, ""))
            for month in sorted(months.dropna().unique()):
                cells = (months == month).fillna(False).astype(bool)
                errors += row_errors(chunk.rows[cells], source, raw[cells],
                                     _l("has month %(month)s: a month is 01 to 12", month=month))
                bad = bad & ~cells
            if not dated:  # with the file's order known, a year-last cell it makes impossible is no date
                backwards = bad & parsing.year_last(raw)
                errors += row_errors(chunk.rows[backwards], source, raw[backwards], YEAR_LAST)
                bad = bad & ~backwards
        errors += row_errors(chunk.rows[bad], source, raw[bad], _reason(target))
        if target.kind in ("date", "datetime"):
            for out_of_range, reason in _implausible(target, values):
                errors += row_errors(chunk.rows[out_of_range], source, raw[out_of_range], reason)
                values = values.where(~out_of_range)
        typed[target.name] = values
    if plan.amount_from is not None:
        typed["amount"], amount_errors = _amount_from(chunk, plan, typed)
        errors += amount_errors
    if plan.kind == "activity":
        typed["category"] = typed["category"].fillna("") if "category" in typed else ""
    if plan.kind == "interactions":
        errors += _resolved_before_occurred(chunk, plan, typed)
    return typed, errors


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
EVENTS = ("occurred_at", "resolved_at")  # moments of things that happened: at most a little ahead (a bill's date)
AHEAD = timedelta(days=366)


def _implausible(target: Target, values: pd.Series) -> list[tuple[pd.Series, object]]:
    """Dates no customer's data holds: before 1900, and events more than a year ahead (a typo in a year,
    2031 for 2021).  Taken as they are, one would stretch every window and trend of the tenant's rules."""
    if target.kind == "date":
        moments = pd.to_datetime(values, errors="coerce", utc=True)
    else:
        moments = values
    found = [((moments < EARLIEST).fillna(False).astype(bool), _l("is before 1900: check the year"))]
    if target.name in EVENTS:
        found.append(((moments > pd.Timestamp.now(tz="UTC") + AHEAD).fillna(False).astype(bool),
                      _l("is more than a year ahead: check the year")))
    return found


def _number_errors(chunk: Chunk, source: str, raw: pd.Series, bad: pd.Series) -> tuple[list[RowError], pd.Series]:
    """Bad number cells refused for what is wrong with them (a decimal comma, too many digits), and the
    bad cells left for the caller's own reason."""
    comma = bad & parsing.decimal_comma(raw)
    too_large = bad & ~comma & parsing.too_large(raw)
    said = (row_errors(chunk.rows[comma], source, raw[comma], DECIMAL_COMMA)
            + row_errors(chunk.rows[too_large], source, raw[too_large], TOO_LARGE))
    return said, bad & ~comma & ~too_large


def _amount_from(chunk: Chunk, plan: ColumnPlan, typed: pd.DataFrame) -> tuple[pd.Series, list[RowError]]:
    """Each row's amount as its quantity times its unit price (``planning._amount_from``), to the cent.

    A bad or missing unit price is refused under its own column; a bad quantity already is, as the
    quantity, and a missing one is refused here: without it the row has no amount.
    """
    quantity_column, price_column = plan.amount_from
    raw = chunk.frame[price_column]
    price, bad = parsing.parse_number(raw)
    needed = _l("is required: the amount is %(quantity)s × %(price)s", quantity=quantity_column, price=price_column)
    blank_price = parsing.empty(raw)
    errors = row_errors(chunk.rows[blank_price], price_column, raw[blank_price], needed)
    said, bad = _number_errors(chunk, price_column, raw, bad & ~blank_price)
    errors += said + row_errors(chunk.rows[bad], price_column, raw[bad], _l("is not a number"))
    blank_quantity = parsing.empty(chunk.frame[quantity_column])
    errors += row_errors(chunk.rows[blank_quantity], quantity_column, chunk.frame[quantity_column][blank_quantity],
                         needed)
    amount = (typed["quantity"].astype("float64") * price.astype("float64")).round(2)
    # Each may be a number when their product is past what an amount can be (the database refused the whole file)
    too_large = amount.abs().ge(1e15).fillna(False).astype(bool)
    errors += row_errors(chunk.rows[too_large], price_column, raw[too_large],
                         _l("is too large: %(quantity)s × %(price)s makes an amount past 15 digits before the "
                            "decimal point", quantity=quantity_column, price=price_column))
    return amount.where(~too_large), errors


def _resolved_before_occurred(chunk: Chunk, plan: ColumnPlan, typed: pd.DataFrame) -> list[RowError]:
    """An interaction cannot be resolved before it happened (a swapped column, or a typo in a year), nor
    have a resolution time where the file says it was not resolved."""
    if "resolved_at" not in typed:
        return []
    sources = {target.name: column for target, column in plan.targets}
    early = (typed["resolved_at"] < typed["occurred_at"]).fillna(False).astype(bool)
    errors = row_errors(chunk.rows[early], sources["resolved_at"], chunk.frame[sources["resolved_at"]][early],
                        _l("is before %(column)s", column=sources["occurred_at"]))  # as the file heads it: 受理时间
    if "resolved" in typed:
        open_ = (typed["resolved"].eq(False) & typed["resolved_at"].notna()).fillna(False).astype(bool)
        errors += row_errors(chunk.rows[open_], sources["resolved"], chunk.frame[sources["resolved"]][open_],
                             _l("says not resolved, but %(column)s gives a time it was", column=sources["resolved_at"]))
    return errors


def _parse(target: Target, raw: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    if target.kind == "number":
        return parsing.parse_number(raw)  # NUMERIC staging columns round half away from zero, like money
    if target.kind == "integer":
        values, bad = parsing.parse_integer(raw)
        if target.name == "severity":
            out_of_range = values.notna() & ~values.between(1, 5)
            return values.where(~out_of_range), bad | out_of_range.fillna(False).astype(bool)
        return values, bad
    if target.kind == "boolean":
        return parsing.parse_boolean(raw, target.aliases)
    if target.kind == "date":
        return parsing.parse_date(raw)
    if target.kind == "datetime":
        return parsing.parse_datetime(raw, timezone)
    if target.kind == "category":
        spellings = label_spellings(target.choices) if target.choices else {}
        return parsing.parse_category(raw, target.choices, spellings | target.aliases)
    if target.kind == "id":
        return parsing.parse_id(raw, target.max_length)
    return parsing.parse_text(raw, target.max_length or 10_000)


def _reason(target: Target):
    """Why a cell of ``target`` was refused: a lazy string, kept as its message and parameters
    (``errors.RowError``) so each reader reads it in their own language."""
    if target.kind == "number":
        return _l("is not a number")
    if target.kind == "integer":
        return _l("is not a whole number from 1 to 5") if target.name == "severity" else _l("is not a whole number")
    if target.kind == "boolean" and target.name == "churn_label":
        return _l("is not a churn outcome: yes, 1, churned or Attrited Customer for a customer who left; no, 0, "
                  "stayed or Existing Customer for one who stayed (是/否, 流失/未流失)")
    if target.kind == "boolean":
        return _l("is not yes/no (true/false, 1/0, 是/否)")
    if target.kind == "date":
        return _l("is not a date such as 2024-01-05, 2024/1/5 or 2024年1月5日")
    if target.kind == "datetime":
        return _l("is not a date or time such as 2024-01-05, 2024/1/5 13:45 or 2024年1月5日")
    if target.kind == "category":
        return _l("is not one of: %(choices)s", choices=Phrases(sorted(target.choices or ())))
    if target.kind == "text":
        return _l("is longer than %(max_length)s characters", max_length=target.max_length)
    if target.kind == "id":
        return _l("is longer than %(max_length)s characters or holds an invisible character (a zero-width space, "
                  "a direction mark, a byte order mark): it would look like another customer's id",
                  max_length=target.max_length)
    raise KeyError(target.kind)


def _set_value_refusal(target: Target, value: str, timezone: str, tenant_id: int):
    """Why a value set for every row would be refused in each of them, as ``parse_chunk`` and
    ``_reference_errors`` judge a cell (a branch no one has, a date before 1900), or None."""
    values, bad = _parse(target, pd.Series([value], dtype=object), timezone)
    if bool(bad.iloc[0]):
        return _reason(target)
    for out_of_range, reason in _implausible(target, values) if target.kind in ("date", "datetime") else ():
        if bool(out_of_range.iloc[0]):
            return reason
    spec = None if target.attribute else loading.REFERENCES.get(target.name)
    if spec is not None and loading.names_nothing(db.session.connection(), tenant_id, values.iloc[0], **spec):
        return spec["reason"]
    return None


def _reference_errors(connection, tenant_id: int, plan: ColumnPlan) -> list[RowError]:
    sources = {target.name: source for target, source in plan.targets}
    errors: list[RowError] = []
    if plan.kind == "customers":
        errors += loading.duplicate_keys(connection, "external_id", sources["external_id"])
        for name, spec in loading.REFERENCES.items():
            if name in sources:
                errors += loading.unknown_references(connection, tenant_id, stage_column=name, column=sources[name],
                                                     **spec)
    else:
        errors += loading.unknown_customers(connection, tenant_id, column=sources["customer"])
    return errors


def new_ids(count: int) -> np.ndarray:
    """``count`` UUIDv7 values as 32-digit hex strings, made without a Python loop per row."""
    millis = np.uint64(time.time_ns() // 1_000_000)
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    stamp = np.array([millis], dtype=">u8").view(np.uint8)[2:]
    raw[:, :6] = stamp
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.frombuffer(raw.tobytes().hex().encode(), dtype="S32")
    return hexed.astype(str)
