"""A customer's tiers as the customer page shows them, dimension by dimension, with their history.

``customer_tiers`` gives the assignment in force with its rule and reason, but
history rows name only a tier code and a version, a pending tier only a code,
and neither says how many evaluations hysteresis asks for.  This adds those,
from the version that decided each row: a tier the version in force no longer
has still shows the label it had then.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tierwise.tenants.rules.definition import DimensionSpec
from tierwise.tenants.rules.distribution import CustomerTier, customer_tier_history, customer_tiers
from tierwise.tenants.rules.versions import RuleSetVersion, published_definition, published_versions


@dataclass(frozen=True)
class TierLabel:
    code: str
    label_en: str
    label_zh: str
    colour: str


@dataclass
class Period:
    tier: TierLabel
    valid_from: datetime
    valid_to: datetime | None
    version: int | None


@dataclass
class DimensionTiers:
    dimension: str
    label_en: str
    label_zh: str
    current: CustomerTier | None = None
    pending: TierLabel | None = None  # the tier hysteresis is holding the customer back from
    evaluations: int = 1  # how many evaluations in a row hysteresis asks for before a move
    history: list[Period] = field(default_factory=list)
    segments: list["Segment"] = field(default_factory=list)  # the timeline (``lay_out_timeline``)


@dataclass(frozen=True)
class Segment:
    """One period of a tier on the customer's timeline, placed in percent of the shared time axis."""

    tier: TierLabel
    start: datetime
    end: datetime | None  # None: in force now
    left: float
    width: float


def lay_out_timeline(dimensions: list[DimensionTiers], now: datetime) -> datetime | None:
    """Place every dimension's periods, closed and current, on one axis from the earliest to ``now``.

    One axis for all dimensions, so a move in one lines up with a move in another
    (a value tier falling as the opinion risk rose).  Fills each dimension's
    ``segments``; returns where the axis starts, or None when the customer has no tier yet.
    """
    periods: dict[str, list[tuple[TierLabel, datetime, datetime | None]]] = {}
    for entry in dimensions:
        spans = [(p.tier, p.valid_from, p.valid_to) for p in entry.history]
        if entry.current is not None:
            current = entry.current
            spans.append((TierLabel(current.tier, current.label_en, current.label_zh, current.colour),
                          current.since, None))
        periods[entry.dimension] = sorted(spans, key=lambda span: span[1])
    starts = [span[1] for spans in periods.values() for span in spans]
    if not starts:
        return None
    start, end = min(starts), max(now, *starts)
    if end == start:  # tiered this very moment: the periods in force fill the axis
        end = start + timedelta(seconds=1)
    length = (end - start).total_seconds()
    for entry in dimensions:
        entry.segments = [
            Segment(tier, begins, ends, 100 * (begins - start).total_seconds() / length,
                    100 * ((ends or end) - begins).total_seconds() / length)
            for tier, begins, ends in periods[entry.dimension]]
    return start


class _Versions:
    """Published versions by id and number (a tenant has tens of versions, not thousands)."""

    def __init__(self, versions: list[RuleSetVersion]):
        self.by_id = {v.id: v for v in versions}
        self.by_number = {v.number: v for v in versions}
        self.in_force = versions[0] if versions else None  # published_versions() is newest first

    def dimension(self, version: RuleSetVersion | None, code: str) -> DimensionSpec | None:
        if version is None:
            return None
        return published_definition(version.tenant_id, version.id).dimension(code)

    def tier(self, version: RuleSetVersion | None, dimension: str, code: str) -> TierLabel:
        spec = self.dimension(version, dimension)
        tier = next((t for t in spec.tiers if t.code == code), None) if spec else None
        if tier is None:
            return TierLabel(code, code, code, "#6b7280")
        return TierLabel(tier.code, tier.label_en, tier.label_zh, tier.colour)


def tier_profile(customer_id: uuid.UUID) -> list[DimensionTiers]:
    """The customer's dimensions: those of the version in force first, then any it was tiered in before."""
    versions = _Versions(published_versions())
    dimensions: dict[str, DimensionTiers] = {}
    if versions.in_force is not None:
        for spec in published_definition(versions.in_force.tenant_id, versions.in_force.id).dimensions:
            dimensions[spec.code] = DimensionTiers(spec.code, spec.label_en, spec.label_zh)
    for current in customer_tiers(customer_id):
        entry = dimensions.setdefault(current.dimension, DimensionTiers(current.dimension, current.dimension,
                                                                        current.dimension))
        entry.current = current
        version = versions.by_number.get(current.version)
        spec = versions.dimension(version, current.dimension)
        entry.evaluations = spec.hysteresis.evaluations if spec else 1
        if current.pending_tier and current.pending_tier != current.tier:
            entry.pending = versions.tier(version, current.dimension, current.pending_tier)
    for row in customer_tier_history(customer_id):
        version = versions.by_id.get(row.rule_version_id)
        entry = dimensions.setdefault(row.dimension, DimensionTiers(row.dimension, row.dimension, row.dimension))
        entry.history.append(Period(versions.tier(version, row.dimension, row.tier), row.valid_from, row.valid_to,
                                    version.number if version else None))
    return list(dimensions.values())
