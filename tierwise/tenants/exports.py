"""Customer exports: one row per customer with its tier in every dimension and its scores.

The built-in lists select from the same rows: ``vip`` (the top tier of the
value dimension), ``high_risk`` and ``opinion_risk`` (any tier but the
dimension's fallback), ``at_risk`` (churn probability of at least
``AT_RISK_PROBABILITY``) and ``all``.  The file is UTF-8 with a byte-order mark
so that Excel opens Chinese text correctly, and every export is audited with
its row count and the SHA-256 of the file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from tierwise.errors import ValidationError
from tierwise.models.frames import read_frame
from tierwise.models.scores import CustomerScore
from tierwise.platform import audit, tenancy
from tierwise.tenants.customers import Customer
from tierwise.tenants.rules.assignments import TierAssignment
from tierwise.tenants.rules.versions import current_version

LISTS = ("all", "vip", "high_risk", "opinion_risk", "at_risk")
AT_RISK_PROBABILITY = 0.5


@dataclass
class ExportResult:
    path: Path
    rows: int
    sha256: str
    list_name: str


def _dimensions() -> list:
    version = current_version()
    return [] if version is None else list(version.parsed().dimensions)


def customer_rows(list_name: str = "all") -> pd.DataFrame:
    """The export's rows (external id, one column per dimension's tier, churn probability, predicted value)."""
    if list_name not in LISTS:
        raise ValidationError(f"unknown list '{list_name}' (choose one of: {', '.join(LISTS)})", field="list")
    tenant_id = tenancy.current_tenant_id()
    c, a, s = Customer.__table__, TierAssignment.__table__, CustomerScore.__table__
    dimensions = _dimensions()
    columns = [c.c.external_id, c.c.name]
    conditions = [c.c.tenant_id == tenant_id]
    joined = c.outerjoin(s, sa.and_(s.c.tenant_id == c.c.tenant_id, s.c.customer_id == c.c.id))
    for index, dimension in enumerate(dimensions):
        alias = a.alias(f"tier_{index}")
        joined = joined.outerjoin(alias, sa.and_(alias.c.tenant_id == c.c.tenant_id, alias.c.customer_id == c.c.id,
                                                 alias.c.dimension == dimension.code))
        columns.append(alias.c.tier.label(f"tier_{dimension.code}"))
        if list_name == "vip" and dimension.code == "value":
            conditions.append(alias.c.tier == dimension.tiers[0].code)
        if list_name == dimension.code:
            conditions.append(alias.c.tier != dimension.fallback.code)
    if list_name in ("vip", "high_risk", "opinion_risk") and not any(
            d.code == ("value" if list_name == "vip" else list_name) for d in dimensions):
        raise ValidationError(f"the rule set in force has no '{'value' if list_name == 'vip' else list_name}' "
                              "dimension, so this list is empty by definition", field="list")
    if list_name == "at_risk":
        conditions.append(s.c.churn_probability >= AT_RISK_PROBABILITY)
    columns += [s.c.churn_probability, s.c.predicted_value]
    select = sa.select(*columns).select_from(joined).where(*conditions).order_by(c.c.external_id)
    text = {"external_id": "string", "name": "string"} | {f"tier_{d.code}": "string" for d in dimensions}
    return read_frame(select, dtypes=text | {"churn_probability": "float64", "predicted_value": "float64"})


def export_customers(out: str | Path, *, list_name: str = "all", by: str = "") -> ExportResult:
    """Write the list to ``out`` as CSV (UTF-8 with BOM) and audit it."""
    path = Path(out)
    if path.suffix.lower() != ".csv":
        raise ValidationError(f"'{path}': the export is written as CSV; name the file .csv", field="out")
    if not path.parent.exists():
        raise ValidationError(f"'{path.parent}' does not exist", field="out")
    frame = customer_rows(list_name)
    frame["churn_probability"] = frame["churn_probability"].round(6)
    frame["predicted_value"] = frame["predicted_value"].round(2)
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    audit.record("export.created", target_type="export", target_id=path.name,
                 details={"list": list_name, "rows": len(frame), "sha256": digest, "format": "csv", "by": by})
    return ExportResult(path=path, rows=len(frame), sha256=digest, list_name=list_name)
