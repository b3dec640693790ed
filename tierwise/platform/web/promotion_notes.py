"""The registry's champion decisions, in the reader's language.

``tierwise.models.registry`` stores why a version is or is not champion as an
English sentence (the CLI and the API show it as stored).  The model pages
recognise the sentences the registry writes and say them again through the
catalogue; a note they do not recognise is shown as stored.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _

from tierwise.platform.web.model_report import METRICS

_FIRST = re.compile(r"first model of this tenant")
_OTHER_HORIZON = re.compile(r"kept version (?P<number>\d+) as champion: it predicts over (?P<theirs>\d+) days and "
                            r"this version over (?P<ours>\d+), so they cannot be compared; "
                            r"promote this version to use its horizon")
_BEAT = re.compile(r"beat version (?P<number>\d+) on the same validation data "
                   r"\((?P<metric>\w+) (?P<ours>\S+) against (?P<theirs>\S+)\)")
_KEPT = re.compile(r"kept version (?P<number>\d+) as champion: (?P<metric>\w+) (?P<ours>\S+) against its "
                   r"(?P<theirs>\S+) on the same validation data")
_BY_HAND = re.compile(r"(?P<kind>rollback|override) by (?P<by>[^:]*): (?P<reason>.*)", re.DOTALL)


def promotion_note(note: str | None) -> str:
    """``note`` as the registry wrote it, translated where it is one of the registry's sentences."""
    note = note or ""
    if _FIRST.fullmatch(note):
        return _("first model of this tenant")
    if match := _OTHER_HORIZON.fullmatch(note):
        return _("kept version %(number)s as champion: it predicts over %(theirs)s days and this version over "
                 "%(ours)s, so they cannot be compared; promote this version to use its horizon", **match.groupdict())
    if match := _BEAT.fullmatch(note):
        return _("beat version %(number)s on the same validation data (%(metric)s %(ours)s against %(theirs)s)",
                 **_readable(match.groupdict()))
    if match := _KEPT.fullmatch(note):
        return _("kept version %(number)s as champion: %(metric)s %(ours)s against its %(theirs)s on the same "
                 "validation data", **_readable(match.groupdict()))
    if match := _BY_HAND.fullmatch(note):
        by, reason = match["by"], match["reason"]
        if match["kind"] == "rollback":
            return _("rollback by %(by)s: %(reason)s", by=by, reason=reason)
        return _("override by %(by)s: %(reason)s", by=by, reason=reason)
    return note


def _readable(parts: dict) -> dict:
    """The metric's label instead of its key; "undefined" (no value) in the reader's language."""
    labels = {key: label for metrics in METRICS.values() for key, label, *_rest in metrics}
    undefined = _("undefined")
    return parts | {"metric": str(labels.get(parts["metric"], parts["metric"])),
                    "ours": undefined if parts["ours"] == "undefined" else parts["ours"],
                    "theirs": undefined if parts["theirs"] == "undefined" else parts["theirs"]}
