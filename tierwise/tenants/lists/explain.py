"""Why each customer on a list page or export is there, in the reader's language.

The list query reads the reason from the assignment row it already joins
(``catalog.explained_by`` says which dimension explains which list), and the
churn score's strongest reason from the score row, so explaining a page costs
no query per row: only the churn reasons' model versions are read, once per
page, to name their features as that version knew them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from tierwise.models.features import FeatureSpec
from tierwise.models.registry import ModelVersion
from tierwise.platform.db import db
from tierwise.platform.i18n import clauses
from tierwise.platform.numbers import readable_feature, readable_percent
from tierwise.tenants.lists import catalog
from tierwise.tenants.rules.reasons import ReasonLine, reasons_said


@dataclass(frozen=True)
class Why:
    dimension: str | None  # whose tier's reason ``lines`` are
    lines: list[ReasonLine]
    churn_probability: float | None = None  # for the at-risk lists, with the score's strongest reason
    churn_feature: str | None = None
    churn_label: str | None = None
    churn_value: object = None

    def churn_text(self) -> str:
        if self.churn_probability is None:
            return ""
        said = _("Churn probability %(percent)s", percent=readable_percent(self.churn_probability))
        if self.churn_label:
            said += _(", mostly: %(feature)s = %(value)s", feature=self.churn_label,
                      value=readable_feature(self.churn_feature or "", self.churn_value))
        return said

    def text(self) -> str:
        parts = [line.text() for line in self.lines] + ([self.churn_text()] if self.churn_probability is not None
                                                         else [])
        return clauses(p for p in parts if p)

    def as_dict(self) -> dict:
        """The API's structured reason (``ListRow.reason`` in the OpenAPI document)."""
        churn = None if self.churn_probability is None else {
            "probability": self.churn_probability, "feature": self.churn_feature, "label": self.churn_label,
            "value": self.churn_value}
        return {"dimension": self.dimension, "values": {line.expression: line.value for line in self.lines},
                "churn": churn, "text": self.text()}


def explain(name: str, rows: list, registry: dict, locale: str) -> list[Why]:
    """One ``Why`` per row of list ``name`` (``ListRow`` objects or the export's mappings), in ``locale``."""
    dimension, churn_explained = catalog.explained_by(name)
    read = (lambda row, key: row.get(key)) if rows and isinstance(rows[0], Mapping) else getattr
    with force_locale(locale):
        labels = _feature_labels({(read(r, "churn_version_id"), read(r, "churn_reason")[0])
                                  for r in rows if churn_explained and read(r, "churn_reason")}, locale)
        lines = reasons_said(registry, locale, str(get_locale()))
        explained, said = [], {}  # reasons repeat down a list ("Hospital; 5"): each is said once
        for row in rows:
            reason = read(row, "reason") if dimension else None
            key = tuple(sorted((k, repr(v)) for k, v in reason.items())) if reason else ()
            if key not in said:
                said[key] = lines(reason)
            why = Why(dimension, said[key])
            if churn_explained:
                churn = read(row, "churn_reason") or [None, None, None]
                why = Why(dimension, why.lines, read(row, "churn_probability"), churn[0],
                          labels.get((read(row, "churn_version_id"), churn[0]), churn[0]), churn[2])
            explained.append(why)
        return explained


def _feature_labels(pairs: set, locale: str) -> dict:
    """(model version id, feature) -> the feature's label in that version's spec: one query per page."""
    ids = {version_id for version_id, _feature in pairs if version_id is not None}
    if not ids:
        return {}
    specs = {version_id: FeatureSpec.from_dict(features["spec"]) for version_id, features in db.session.execute(
        sa.select(ModelVersion.id, ModelVersion.features).where(ModelVersion.id.in_(ids)))}  # not the whole row
    return {(version_id, feature): specs[version_id].label(feature, locale)
            for version_id, feature in pairs if version_id in specs}
