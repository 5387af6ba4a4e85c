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
            "content": {"application/json": {"schema": {
                "type": "object", "required": ["accepted", "decision"],
                "properties": {"accepted": {"type": "integer"}, "decision": DECISION_SCHEMA,
                               "recheck_in_ms": {"type": "integer", "minimum": 0, "description":
                                   "no invitation yet only because the evidence must hold a little longer: "
                                   "send a heartbeat after this many ms"}},
            }}},
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
