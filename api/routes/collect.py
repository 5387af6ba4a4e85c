"""``POST /v1/collect`` and its CORS preflight."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from api import metrics
from api.deps import EngineDep
from api.engine import Engine
from api.limits import retry_after
from api.openapi import COLLECT_OPENAPI
from api.responses import json_response, problem
from tracker.protocol import MAX_BODY_BYTES
from triggers.context import Privacy

router = APIRouter(tags=["collect"])

ACCEPTED_TYPES = ("application/json", "text/plain")


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _cors(origin: str | None) -> dict[str, str]:
    # Retry-After must be readable cross-origin: the tracker waits as long as a 429 or 503 asks.
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "Retry-After",
            "Vary": "Origin"} if origin else {}


@router.post("/v1/collect", openapi_extra=COLLECT_OPENAPI)
async def collect(request: Request) -> Response:
    # The engine straight from the app, not through Depends: the hottest route skips dependency solving.
    engine: Engine = request.app.state.engine
    origin = request.headers.get("origin")
    if engine.limits is not None and (wait := engine.limits.ip(request.client.host if request.client else None)):
        metrics.RATE_LIMITED.labels("ip").inc()
        metrics.observe_collect(429, {"error": "rate_limited"})
        return problem(429, "rate_limited", "too many requests from this address; keep the batch and retry",
                       headers={"Retry-After": retry_after(wait)} | _cors(origin))
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_TYPES:
        metrics.observe_collect(415, {"error": "unsupported_media_type"})
        return problem(415, "unsupported_media_type", "send application/json or text/plain", "Content-Type")
    try:
        body = await read_limited(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        metrics.observe_collect(413, {"error": "body_too_large"})
        return problem(413, "body_too_large", f"the body limit is {MAX_BODY_BYTES} bytes")
    privacy = Privacy.model_construct(dnt=request.headers.get("dnt") == "1", gpc=request.headers.get("sec-gpc") == "1")
    started = time.perf_counter()
    outcome = await engine.collect(body, origin, privacy)
    # The server's own time, for load tests: their clients' figures include their own queueing.
    timing = {"Server-Timing": f"app;dur={(time.perf_counter() - started) * 1000:.3f}"}
    metrics.observe_collect(outcome.status, outcome.body)
    headers = outcome.headers | timing | (_cors(origin) if outcome.status != 403 else {})
    return json_response(outcome.body, outcome.status, headers)


class _TimedRoute(Route):
    """A Starlette route that, like FastAPI's, names itself in the scope (per-route metrics use it)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match != Match.NONE:
            child["route"] = self
        return match, child


FAST_ROUTES = [_TimedRoute("/v1/collect", collect, methods=["POST"])]
"""``POST /v1/collect`` as the app serves it: a plain Starlette route, placed before the FastAPI one.
FastAPI's per-request handler (parameter solving, response wrapping) cost more than a sixth of a
worker on this route; the FastAPI route above stays only so that /openapi.json describes it."""


@router.options("/v1/collect", include_in_schema=False)
async def collect_preflight(request: Request, engine: EngineDep) -> Response:
    origin = request.headers.get("origin")
    if origin is None or not engine.sites.allows_origin_anywhere(origin):
        return problem(403, "origin_not_allowed", f"origin {origin!r} is not allowed by any site", "Origin")
    return Response(status_code=204, headers=_cors(origin) | {
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "86400",
    })
