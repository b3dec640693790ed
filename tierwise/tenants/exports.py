"""Exports: a list, as the user sees it, written as CSV or XLSX and audited.

The rows are the list's own query (``tierwise.tenants.lists.query``), so an
export holds exactly what its author may see: an RM's export is their book.
CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly.
Every export is recorded in the audit log (``export.created``): who, when,
which list and filters, the row count and the SHA-256 of the file, which the
tenant admins' export log shows.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tierwise.errors import ValidationError
from tierwise.platform import audit
from tierwise.platform.db import db, utcnow
from tierwise.platform.tenant import tenant_timezone
from tierwise.platform.i18n import localised
from tierwise.tenants import xlsx
from tierwise.tenants.fields import field_labels
from tierwise.tenants.lists.catalog import CHANGE_LISTS, builtin
from tierwise.tenants.lists.explain import explain
from tierwise.tenants.lists.filters import ListFilters
from tierwise.tenants.lists.query import list_rows

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
EXPORT_ACTION = "export.created"
VIA = ("web", "api", "cli")  # where an export was asked for: a list page, the API, ``tierwise export``


@dataclass
class Export:
    content: bytes
    filename: str
    rows: int
    sha256: str
    list_name: str
    format: str

    @property
    def mimetype(self) -> str:
        return FORMATS[self.format]


# What the list page calls each column (its template's msgids): a file for people is headed as the screen is,
# but for churn: the screen reads 99.2%, the file holds the probability (0.9921), and its heading says so.
HEADINGS = {
    "external_id": _l("Customer id"), "name": _l("Name"), "branch": _l("Branch"), "rm": _l("Relationship manager"),
    "churn_probability": _l("Churn probability (0–1)"), "predicted_value": _l("Predicted value"),
    "from_tier": _l("Moved from"), "to_tier": _l("Moved to"), "changed_at": _l("Moved at"), "reason": _l("Why"),
}


def table(list_name: str, visible: sa.ColumnElement[bool], filters: ListFilters, sort: str,
          locale: str | None = None) -> tuple[list[str], list[list]]:
    """The export's header and rows: ids, the tier in every dimension, the scores (and the move, for
    changes), and last why the customer is on the list (``tierwise.tenants.lists.explain``).

    Without ``locale`` the file is for programs (``tierwise export``): column keys, the branch's code and
    the RM's email (names change; a program matches on what does not), tier codes, the reason in English.
    With one it is for people: the list page's headings and tier labels in that language, each tier's code
    in the column beside its label, so a sheet can still be matched back to the rules, and the reason as
    the page says it.
    """
    rows, dimensions = list_rows(list_name, visible, filters=filters, sort=sort)
    changes = list_name in CHANGE_LISTS
    whys = explain(list_name, rows, field_labels(), locale or "en")
    if locale is None:
        header = ["external_id", "name", "branch_code", "rm_email"] + [f"tier_{d.code}" for d in dimensions]
        header += ["churn_probability", "predicted_value"] + (["from_tier", "to_tier", "changed_at"] if changes else [])
        header.append("reason")
    else:
        header = _people_header(dimensions, locale, changes)
    moved_in = next((d for d in dimensions if d.code == CHANGE_LISTS.get(list_name)), None)
    body = []
    branch, rm = ("branch", "rm") if locale else ("branch_code", "rm_email")  # names for people, codes for programs
    with force_locale(locale or "en"):  # once for the file: the reasons' words in its language
        for row, why in zip(rows, whys):
            line = [row["external_id"], row["name"], row[branch] or "", row[rm] or ""]
            for dimension in dimensions:
                line += _tier(dimension, row[f"tier__{dimension.code}"], locale)
            line += [_fixed(row["churn_probability"], PROBABILITY_DECIMALS), _fixed(row["predicted_value"], 2)]
            if changes:
                line += _tier(moved_in, row["from_tier"], locale) + _tier(moved_in, row["to_tier"], locale)
                line.append(row["changed_at"].isoformat(timespec="seconds"))
            line.append(why.text())
            body.append(line)
    return header, body


def _people_header(dimensions: list, locale: str, changes: bool) -> list[str]:
    with force_locale(locale):
        def with_code(heading: str) -> list[str]:
            return [heading, _("%(heading)s (code)", heading=heading)]

        header = [str(HEADINGS[key]) for key in ("external_id", "name", "branch", "rm")]
        for dimension in dimensions:
            header += with_code(localised(dimension.label_en, dimension.label_zh, locale))
        header += [str(HEADINGS[key]) for key in ("churn_probability", "predicted_value")]
        if changes:
            header += with_code(str(HEADINGS["from_tier"])) + with_code(str(HEADINGS["to_tier"]))
            header.append(str(HEADINGS["changed_at"]))
        header.append(str(HEADINGS["reason"]))
    return header


def _tier(dimension, code: str | None, locale: str | None) -> list[str]:
    """A tier as the file shows it: its code; for people, its label and then its code."""
    if locale is None:
        return [code or ""]
    tier = next((t for t in (dimension.tiers if dimension else ()) if t.code == code), None)
    label = localised(tier.label_en, tier.label_zh, locale) if tier else (code or "")
    return [label, code or ""]


# Scores as numbers a program reads (no thousands separators, churn a probability from 0 to 1), rounded to what
# they can tell: a model's 0.99213412 says no more than 0.9921 (99.21%), and an amount is in cents.
PROBABILITY_DECIMALS = 4


def _fixed(value, places: int) -> Decimal | str:
    """``value`` rounded to ``places`` decimals, and keeping them: a Decimal, so the CSV reads 0.8110 and 63498.00
    (a float would drop the zeros: 0.811, 63498.0) and the XLSX cell is a number shown with those decimals
    (``xlsx``). Rounded as ``round`` rounds the float; a missing score (or one that is not a number) is an empty
    cell."""
    if value is None or not math.isfinite(float(value)):
        return ""
    fixed = Decimal(float(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return abs(fixed) if fixed.is_zero() else fixed  # -0.0001 rounds to 0.0000, not -0.0000


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula


def _inert(value):
    """A CSV cell a spreadsheet shows as written: one starting like a formula gets a leading quote.

    A customer named ``=HYPERLINK(...)`` would otherwise run when an RM opens the file (CSV injection).
    XLSX needs none of this: its text cells are text (``xlsx`` never writes a formula), so a name is
    written there exactly as it is.
    """
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def render(header: list[str], body: list[list], fmt: str, sheet: str = "customers") -> bytes:
    """The file's bytes; in CSV, text that looks like a formula is made inert (``_inert``); an XLSX's one
    sheet is named ``sheet``.

    Even ``tierwise export``'s CSV: it is written with a BOM for Excel, and is opened there as often
    as it is read by a program.
    """
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([_inert(v) for v in line] for line in body)
        return text.getvalue().encode("utf-8-sig")
    return xlsx.write(header, body, sheet)  # text cells stay text: ids keep leading zeros, names their "=" or "-"


def export_list(list_name: str, visible: sa.ColumnElement[bool], *, via: str, filters: ListFilters | None = None,
                sort: str = "external_id", fmt: str = "csv", by: str = "", locale: str | None = None,
                saved_list: dict | None = None) -> Export:
    """Build the file for a list and record the export (committed by the caller with nothing else).

    ``via``: where it was asked for (``VIA``: a list page, the API or ``tierwise export``), so the log
    can tell a person's download from a program's.
    ``locale``: the reader's language, for a file headed and labelled as the list page is (see ``table``).
    ``saved_list``: the saved list exported (``{"id", "name"}``), recorded beside the built-in list it
    narrows: the log names what the person exported, and what it was built from.
    """
    listed = builtin(list_name)
    if fmt not in FORMATS:
        raise ValidationError(_l("unknown format '%(format)s' (choose csv or xlsx)", format=fmt), field="format")
    filters = filters or ListFilters()
    header, body = table(list_name, visible, filters, sort, locale)
    # The sheet is named as the file is headed: the list's label for people (贵宾客户), its name for programs
    sheet = ((saved_list or {}).get("name") or listed.label(locale)) if locale else list_name
    content = render(header, body, fmt, sheet)
    digest = hashlib.sha256(content).hexdigest()
    filename = f"{list_name}-{_on_tenant_clock(utcnow()):%Y%m%d-%H%M%S}.{fmt}"
    if via not in VIA:
        raise ValueError(f"via must be one of {VIA}")  # a caller's mistake, not input
    details = {"list": list_name, "filters": filters.to_dict(), "sort": sort, "rows": len(body),
               "sha256": digest, "format": fmt, "by": by, "via": via}
    if saved_list:
        details["saved_list"] = saved_list
    audit.record(EXPORT_ACTION, target_type="export", target_id=filename, details=details)
    return Export(content, filename, len(body), digest, list_name, fmt)


def _on_tenant_clock(moment: datetime) -> datetime:
    """``moment`` on the tenant's clock: a file exported at 04:53 in Shanghai is named for that day, not UTC's."""
    return moment.astimezone(ZoneInfo(tenant_timezone()))


@dataclass
class ExportResult:
    path: Path
    rows: int
    sha256: str
    list_name: str


def export_customers(out: str | Path, *, list_name: str = "all", by: str = "") -> ExportResult:
    """``tierwise export``: the whole tenant's list to ``out`` (.csv or .xlsx), audited."""
    path = Path(out)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValidationError(_("'%(path)s': name the file .csv or .xlsx", path=str(path)), field="out")
    if not path.parent.exists():
        raise ValidationError(_("'%(folder)s' does not exist", folder=str(path.parent)), field="out")
    if path.is_dir():
        raise ValidationError(_("'%(path)s' is a folder: name the file to write", path=str(path)), field="out")
    export = export_list(list_name, sa.true(), via="cli", fmt=fmt, by=by)
    try:
        path.write_bytes(export.content)
    except OSError as exc:  # the caller rolls the export's audit record back with it
        raise ValidationError(_("cannot write '%(path)s': %(reason)s", path=str(path),
                                reason=exc.strerror or str(exc)), field="out") from None
    return ExportResult(path=path, rows=export.rows, sha256=export.sha256, list_name=list_name)


def export_log(limit: int = 200) -> list:
    """The tenant's latest exports (newest first), from the audit log."""
    from tierwise.platform.audit import AuditEvent

    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == EXPORT_ACTION)
                                   .order_by(AuditEvent.occurred_at.desc()).limit(limit)))

