"""An object a path names by id, found only if the caller may see it.

One the caller may not see is answered exactly as an id that does not exist,
the same 404 word for word: anything else (Werkzeug's "Not found." beside the
domain's "no such user") tells an RM which ids are other people's users or
tokens.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable

from flask_babel import gettext as _

from tierwise.errors import NotFoundError


def get_visible(model, object_id: uuid.UUID, may_see: Callable[[object], bool]):
    """``model.get(object_id)`` (another tenant's id is missing already) if ``may_see`` it, else missing too."""
    found = model.get(object_id)
    if not may_see(found):
        # as ``TenantScoped.get`` says a missing id
        raise NotFoundError(_("no such %(noun)s", noun=model.noun), sought=object_id)
    return found
