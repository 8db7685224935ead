"""One OpenAPI 3.1 document for the shop's whole JSON API, served at /api/openapi.json.

Each package declares its part (paths and component schemas, built from the pydantic
models or the dicts that shape its answers) with `declare_part`; this module merges
them, adds the error answers every operation can give (too many requests, database
busy, a crash) and serves the result. The catalog's and the live sessions' old
addresses answer a permanent redirect here, so nothing that linked to them breaks.
tests/security/test_api_schema.py holds the document to the app's URL map and runs
schemathesis against it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from flask import Blueprint, jsonify, redirect

DOCUMENT_PATH = "/api/openapi.json"
OLD_ADDRESSES = ("/api/v1/openapi.json", "/api/v1/livestream/openapi.json",
                 "/api/v1/spec/openapi.json")

_parts: dict[str, Callable[[], dict]] = {}

ERROR_SCHEMA = {
    "title": "Error",
    "description": "Every error the API answers: a code a program can test and a "
                   "message in the reader's language.",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "field": {"type": ["string", "null"], "description": "The input at fault"},
            "fields": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"type": "string"}}},
        },
    }},
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}

# What a status means when a part does not say more.
ERROR_TEXTS = {
    "400": "The request was not valid",
    "401": "Sign in first (`error.code` is `unauthorized`)",
    "403": "Signed in, but not allowed",
    "404": "Not found, or not yours to see",
    "405": "The method is not allowed on this path",
    "409": "It clashes with the current state (taken, overlapping, closed)",
    "422": "A parameter did not validate",
    "429": "Too many requests: wait the seconds `Retry-After` says",
    "500": "Something broke on our side; nothing was saved",
    "503": "The database is briefly busy or away: try again after `Retry-After`",
}
# Any operation may meet these, whatever it does.
COMMON_ERRORS = ("429", "500", "503")


def declare_part(name: str, build: Callable[[], dict]) -> None:
    """Add a package's part: `build()` returns {"paths": ..., "components": ...}."""
    _parts[name] = build


def error_answer(status: str, description: str | None = None) -> dict:
    """An error response object in the shared shape."""
    answer = {"description": description or ERROR_TEXTS[status],
              "content": {"application/json": {"schema": ERROR_REF}}}
    if status in ("429", "503"):
        answer["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                             "description": "Seconds to wait"}}
    return answer


def json_answer(description: str, schema: dict) -> dict:
    """A JSON response object."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _merge_schemas(into: dict, schemas: dict, part: str) -> None:
    for name, schema in schemas.items():
        if name in into and into[name] != schema:
            raise ValueError(f"OpenAPI part {part!r} redefines the schema {name!r}")
        into[name] = schema


def build_document() -> dict:
    """Every declared part, merged, with the common errors on every operation."""
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {"Error": ERROR_SCHEMA}
    tags: dict[str, dict] = {}
    for name, build in sorted(_parts.items()):
        part = copy.deepcopy(build())
        _merge_schemas(schemas, part.get("components", {}).get("schemas", {}), name)
        for tag in part.get("tags", []):
            tags.setdefault(tag["name"], tag)
        for path, operations in part["paths"].items():
            for method, operation in operations.items():
                if method in paths.get(path, {}):
                    raise ValueError(f"{method.upper()} {path} is declared twice")
                responses = operation.setdefault("responses", {})
                for status in COMMON_ERRORS:
                    responses.setdefault(status, error_answer(status))
                for tag in operation.get("tags", []):
                    tags.setdefault(tag, {"name": tag})
                paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Gongfang Live API",
            "version": "1.1.0",
            "description": (
                "The shop's JSON API: products, workshops and makers; live sessions and "
                "host slots; makers' income; the live room's state; health. Money is "
                "integer fen with a currency code; times are ISO 8601 with an offset. "
                "Every error is `{\"error\": {\"code\", \"message\"}}`, including 405 "
                "for a method a path does not take. Signed-in operations use the shop's "
                "session cookie."),
        },
        "tags": sorted(tags.values(), key=lambda tag: tag["name"]),
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


bp = Blueprint("openapi", __name__)


@bp.get(DOCUMENT_PATH)
def document():
    """The OpenAPI 3.1 document of the whole JSON API."""
    return jsonify(build_document())


def _moved():
    return redirect(DOCUMENT_PATH, code=308)


for _number, _address in enumerate(OLD_ADDRESSES):
    bp.add_url_rule(_address, endpoint=f"old_document_{_number}", view_func=_moved)


def _document_part() -> dict:
    moved = {"summary": "Moved: the document is at /api/openapi.json", "deprecated": True,
             "tags": ["documents"], "responses": {"308": {
                 "description": "Permanent redirect to /api/openapi.json",
                 "headers": {"Location": {"schema": {"type": "string"}}}}}}
    return {"paths": {
        DOCUMENT_PATH: {"get": {
            "summary": "This document", "tags": ["documents"], "operationId": "openapi",
            "responses": {"200": json_answer("The OpenAPI 3.1 document",
                                             {"type": "object", "required": ["openapi"]})}}},
        **{address: {"get": {**moved, "operationId": f"old_document_{number}"}}
           for number, address in enumerate(OLD_ADDRESSES)},
    }}


declare_part("documents", _document_part)
