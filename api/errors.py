"""Every error answers with the same body, ``{"error", "field", "message"}``, and no internals."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from api.observe import SCOPE_KEY
from api.prometheus import STORE_UNAVAILABLE
from api.responses import json_response, problem
from api.store import StoreUnavailable

log = logging.getLogger("tactful.errors")
INTERNAL_ERROR = "something went wrong on our side; it has been logged"
BODY_PARSE_ERROR = "There was an error parsing the body"
"""What FastAPI raises for a JSON body that does not parse."""


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if isinstance(error.detail, dict):
            return json_response(error.detail, error.status_code, error.headers)
        if error.status_code == 400 and error.detail == BODY_PARSE_ERROR:
            return problem(400, "malformed_json", "the body is not valid JSON", "(body)")
        return problem(error.status_code, "http_error", str(error.detail), headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(part) for part in first["loc"] if part not in ("body", "query", "path")) or None
        return problem(422, "invalid_request", str(first["msg"]), field)

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, error: StoreUnavailable) -> Response:
        # Any route whose store call failed: the caller may retry, nothing was half-written.
        STORE_UNAVAILABLE.labels("request").inc()
        return problem(503, "store_unavailable", "state store unavailable; retry later", headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception(
            "unhandled error on %s %s",
            request.method,
            request.url.path,
            extra={"request_id": request.scope.get(SCOPE_KEY)},
        )
        return problem(500, "internal_error", INTERNAL_ERROR)
