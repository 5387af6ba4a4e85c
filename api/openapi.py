"""The collect contract in OpenAPI, generated from the same msgspec types that validate it."""

from __future__ import annotations

from typing import Any

import msgspec

from tracker.protocol import Batch

_REF = "#/components/schemas/{name}"
(_batch_schema,), BATCH_COMPONENTS = msgspec.json.schema_components([Batch], ref_template=_REF)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "field", "message"],
    "properties": {
        "error": {"type": "string", "description": "stable machine-readable code"},
        "field": {"type": ["string", "null"], "description": "the offending field, e.g. events[3].ts"},
        "message": {"type": "string"},
    },
}
DECISION_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {
        "action": {"type": "string", "enum": ["invite"]},
        "invite": {"type": "string"},
        "mode": {"type": "string", "enum": ["agent", "bot", "offline"]},
        "message": {"type": "string"},
        "expires_in": {"type": "integer"},
        "score": {"type": "number"},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


COLLECT_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One batch of tracker events (wire protocol v1, docs/protocol.md). "
        "text/plain is accepted so that navigator.sendBeacon needs no preflight.",
        "content": {"application/json": {"schema": _batch_schema}, "text/plain": {"schema": _batch_schema}},
    },
    "responses": {
        "200": {
            "description": "Accepted; the engine's decision (null: no invitation)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["accepted", "decision"],
                        "properties": {
                            "accepted": {"type": "integer"},
                            "decision": DECISION_SCHEMA,
                            "recheck_in_ms": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "no invitation yet only because the evidence must hold a little longer: "
                                "send a heartbeat after this many ms",
                            },
                        },
                    }
                }
            },
        },
        "400": _error_response("malformed JSON or a schema violation; `field` names it"),
        "401": _error_response("unknown site"),
        "403": _error_response("origin not allowed for the site"),
        "413": _error_response("body over 64 KiB"),
        "415": _error_response("content type other than application/json or text/plain"),
        "429": _error_response("rate limited; see Retry-After"),
        "503": _error_response("state store unavailable; retry after Retry-After, nothing was stored"),
    },
}


VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "field", "message"],
    "properties": ERROR_SCHEMA["properties"]
    | {
        "errors": {
            "type": "array",
            "description": "every problem, when there are several (a config document)",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}
ADMIN_PREFIX = "/v1/admin/"
_SUB_RESOURCES = {
    "chat_id": "chat",
    "version": "recorded config version",
    "agent_id": "agent",
    "shortcut": "canned reply",
    "section": "analytics section",
    "offline_id": "offline message",
}
_NO_LOOKUP = {("put", "/v1/admin/sites/{site}/config"), ("post", "/v1/admin/sites/{site}/config/validate")}
"""Site routes that do not need the site to exist: saving its first config creates it."""
_SPECIFIC: dict[tuple[str, str], dict[str, str]] = {
    ("put", "/v1/admin/sites/{site}/config"): {
        "400": "If-Match is not a config version",
        "409": "another version was saved since If-Match",
    },
    ("post", "/v1/admin/sites/{site}/config/rollback"): {
        "400": "If-Match is not a config version",
        "409": "another version was saved since If-Match",
    },
    ("get", "/v1/admin/sites/{site}/analytics"): {
        "400": "start or end unreadable, start not before end, or a window over 8 days"
    },
    ("get", "/v1/admin/sites/{site}/analytics/{section}.csv"): {
        "400": "start or end unreadable, start not before end, or a window over 8 days"
    },
    ("post", "/v1/admin/sites/{site}/what-if"): {
        "400": "start or end unreadable, start not before end, or a window over 8 days"
    },
    ("post", "/v1/admin/sites/{site}/webhook/test"): {"404": "no such site, or it has no webhook"},
    ("get", "/v1/chat/availability"): {"401": "unknown site", "403": "origin not allowed for the site"},
    ("post", "/v1/chat/offline"): {
        "400": "malformed JSON or a field out of bounds; `field` names it",
        "401": "unknown site",
        "403": "origin not allowed for the site",
        "413": "body over 8 KiB",
    },
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation lists the errors it really answers with, each with the uniform error body.

    The rules follow the code: admin routes sit behind the bearer token (401); a route under a site
    looks the site up (404 ``unknown_site``), and one under a chat, version, agent... looks that up
    too (404); a body that is not JSON is a 400; FastAPI's request validation answers 422 in our shape
    (``api.errors``), and any route that reaches the store may answer 503 when it is down.
    ``_SPECIFIC`` adds what single routes check beyond their schema."""
    schema.setdefault("components", {}).setdefault("schemas", {}).pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "a parameter or the body fails validation; `field` names it",
                    "content": {"application/json": {"schema": VALIDATION_ERROR_SCHEMA}},
                }
            if "requestBody" in operation:
                responses.setdefault("400", _error_response("the body is not valid JSON (`malformed_json`)"))
            for status, why in _SPECIFIC.get((method, path), {}).items():
                responses.setdefault(status, _error_response(why))
            if path.startswith(ADMIN_PREFIX):
                responses.setdefault("401", _error_response("missing or wrong admin token (Authorization: Bearer)"))
                looked_up = ["site"] if "{site}" in path and (method, path) not in _NO_LOOKUP else []
                looked_up += [_SUB_RESOURCES[name] for name in _SUB_RESOURCES if "{" + name + "}" in path]
                if looked_up:
                    responses.setdefault("404", _error_response("no such " + " or ".join(looked_up)))
            if path.startswith("/v1/"):
                responses.setdefault("503", _error_response("state store unavailable; retry after Retry-After"))
    return schema
