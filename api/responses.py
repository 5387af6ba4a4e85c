"""JSON responses serialised by orjson straight to bytes (no model layer on the hot path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import Response


def json_response(body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, headers=headers, media_type="application/json")


def problem(
    status_code: int, code: str, message: str, field: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """An error body that names the problem: ``{"error", "field", "message"}``."""
    return json_response({"error": code, "field": field, "message": message}, status_code, headers)
