"""Published versions as callers address them: by id, with what each one changed.

``versions`` numbers versions and keeps one draft; the API, the editor and the
history page name a version by its id instead, and the draft shares the table,
so a lookup by id must refuse the draft (it has its own address).
"""
from __future__ import annotations

import uuid

from flask_babel import gettext as _

from tierwise.errors import NotFoundError
from tierwise.tenants.rules import versions
from tierwise.tenants.rules.diff import definition_diff
from tierwise.tenants.rules.versions import RuleSetVersion


def published_version(version_id: uuid.UUID) -> RuleSetVersion:
    """The published version with this id; NotFoundError for the draft, unknown or other tenants' ids."""
    version = RuleSetVersion.get(version_id)
    if version.is_draft:
        raise NotFoundError(_("no such rule set version"), sought=version_id)
    return version


def changes_from_previous(version: RuleSetVersion) -> list[dict]:
    """The diff against the version published just before it (``created`` for version 1)."""
    previous = versions.version_by_number(version.number - 1) if version.number > 1 else None
    return definition_diff(previous.definition if previous else None, version.definition)
