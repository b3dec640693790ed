"""Building blocks every part of the OpenAPI document uses (``openapi.py`` and its per-concern modules)."""
from __future__ import annotations

UUID = {"type": "string", "format": "uuid"}
TIME = {"type": ["string", "null"], "format": "date-time"}


PAGING = [  # the query parameters of every keyset-paginated collection (``tierwise.platform.pagination``)
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Opaque cursor from the previous page's `next_cursor`, taken back only by the collection "
                    "(and sort) that gave it out."},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
]


def page_of(name: str) -> dict:
    """A page of a keyset-paginated collection of ``name``."""
    return {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": ref(name)},
        "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last."},
    }}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def id_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": UUID}


def responses(ok: dict, *errors: int) -> dict:
    """``ok`` plus a reference to each error response.

    400 and 401 always: every route needs credentials, and refuses a query parameter or
    body it does not document (``api.door``) and a NUL character anywhere in its address.
    """
    codes = sorted({400, 401, *errors})
    return {**ok, **{str(code): {"$ref": f"#/components/responses/{code}"} for code in codes}}


def items(name: str, description: str) -> dict:
    return json_body({"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": ref(name)}}}, description)
