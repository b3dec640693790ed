"""The registry's champion decisions, in the reader's language.

``tierwise.models.registry`` stores why a version is or is not champion as an
English sentence (the CLI and the API show it as stored).  The model pages
recognise the sentences the registry writes and say them again through the
catalogue; a note they do not recognise is shown as stored.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _

from tierwise.models.registry import NOTES
from tierwise.platform.web.model_report import METRICS


def _pattern(template: str) -> re.Pattern:
    """The registry's sentence with each ``{name}`` a named group (the last one may span lines: a reason)."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(part) if k % 2 == 0 else (f"(?P<{part}>.*)" if k == len(parts) - 2 else
                                                         f"(?P<{part}>.*?)") for k, part in enumerate(parts))
    return re.compile(pattern, re.DOTALL)


_PATTERNS = {kind: _pattern(template) for kind, template in NOTES.items()}
SAID = {  # each of the registry's sentences, through the catalogue
    "first": lambda p: _("first model of this tenant"),
    "other_horizon": lambda p: _("kept version %(number)s as champion: it predicts over %(theirs)s days and this "
                                 "version over %(ours)s, so they cannot be compared; promote this version to use "
                                 "its horizon", **p),
    "other_design": lambda p: _("kept version %(number)s as champion: it learnt from %(theirs)s and this version "
                                "from %(ours)s, so they cannot be compared; promote this version to use it",
                                number=p["number"], theirs=_design(p["theirs"]), ours=_design(p["ours"])),
    "beat": lambda p: _("beat version %(number)s on the same validation data (%(metric)s %(ours)s against "
                        "%(theirs)s)", **_readable(p)),
    "kept": lambda p: _("kept version %(number)s as champion: %(metric)s %(ours)s against its %(theirs)s on the same "
                        "validation data", **_readable(p)),
    "rollback": lambda p: _("rollback by %(by)s: %(reason)s", **p),
    "override": lambda p: _("override by %(by)s: %(reason)s", **p),
}


def promotion_note(note: str | None) -> str:
    """``note`` as the registry wrote it, translated where it is one of the registry's sentences."""
    note = note or ""
    for kind, pattern in _PATTERNS.items():
        if match := pattern.fullmatch(note):
            return SAID[kind](match.groupdict())
    return note


def _design(said: str) -> str:
    """A design as ``registry.DESIGNS`` says it, in the reader's language."""
    return {"activity over time": _("activity over time"),
            "a snapshot of churn labels": _("a snapshot of churn labels")}.get(said, said)


def _readable(parts: dict) -> dict:
    """The metric's label instead of its key; "undefined" (no value) in the reader's language."""
    labels = {key: label for metrics in METRICS.values() for key, label, *_rest in metrics}
    undefined = _("undefined")
    return parts | {"metric": str(labels.get(parts["metric"], parts["metric"])),
                    "ours": undefined if parts["ours"] == "undefined" else parts["ours"],
                    "theirs": undefined if parts["theirs"] == "undefined" else parts["theirs"]}
