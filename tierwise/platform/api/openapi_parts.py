"""Building blocks every part of the OpenAPI document uses (``openapi.py`` and its per-concern modules)."""
from __future__ import annotations

UUID = {"type": "string", "format": "uuid"}
TIME = {"type": ["string", "null"], "format": "date-time"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def id_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": UUID}


def responses(ok: dict, *errors: int) -> dict:
    """``ok`` plus a reference to each error response (401 always: every route needs credentials)."""
    return {**ok, **{str(code): {"$ref": f"#/components/responses/{code}"} for code in (401, *errors)}}


def items(name: str, description: str) -> dict:
    return json_body({"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": ref(name)}}}, description)
