"""Where in the request an error is: a domain error's ``field`` said as the request names that place.

The domain names what it refuses in its own words: a list filter as a query string
names it (``churn_min``, ``tier.value``), a part of a rule set by its codes
(``dimensions``, ``value.vip.rule``), the list catalog's ``list``.  An API caller
sent the value under a body key (``filters``, ``definition``) or in a path
parameter (``name``), and an error's ``field`` must point there, as the OpenAPI
document names it.  A route wraps the domain call in one of these; nothing else
rewrites a field.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from tierwise.errors import TierwiseError, ValidationError


@contextmanager
def under_key(key: str, inside: Callable[[str], str | None] = lambda field: field):
    """Inside, a ValidationError about the value sent as body key ``key`` names its path in the body:
    ``filters.churn_min``, ``definition.dimensions``, and ``key`` itself for one that names no part.

    ``inside``: where in the value a field the domain names sits, when that is not its name (a
    filter's ``tier.value`` sits at ``tiers.value``), or None for a field that is not in the value
    (a saved list's ``name``, a key of the body itself), which is left as it is.  The further
    problems under ``more`` (every bad rule of a rule set) are said the same way.
    """
    try:
        yield
    except ValidationError as error:
        for problem in (error, *error.more):
            where = inside(problem.field) if problem.field else ""
            if where is not None:
                problem.field = f"{key}.{where}" if where else key
        raise


@contextmanager
def as_parameter(name: str, *fields: str | None):
    """Inside, an error the domain raises on one of ``fields`` names the path parameter ``name`` that
    carried the value: the catalog's ``list`` is ``/lists/{name}``.  None stands for an error that
    names no field, such as a conflict with the very object the path names (the version asked for
    is already the one in force)."""
    try:
        yield
    except TierwiseError as error:
        if getattr(error, "field", None) in fields:
            error.field = name
        raise
