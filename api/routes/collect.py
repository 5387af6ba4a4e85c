"""``POST /v1/collect`` and its CORS preflight."""

from __future__ import annotations

import logging
import time

import orjson
from fastapi import APIRouter, Request, Response
from starlette.types import Receive, Scope, Send

from api import prometheus
from api.deps import EngineDep
from api.engine import Engine, Outcome, error_outcome
from api.errors import INTERNAL_ERROR
from api.limits import retry_after
from api.observe import REQUEST_ID, SCOPE_KEY, log_access, request_id_from
from api.openapi import COLLECT_OPENAPI
from api.responses import problem
from tracker.protocol import MAX_BODY_BYTES
from triggers.context import Privacy

router = APIRouter(tags=["collect"])
log = logging.getLogger("tactful.errors")

PATH = "/v1/collect"
ACCEPTED_TYPES = (b"application/json", b"text/plain")
_JSON = (b"content-type", b"application/json")
_PRIVACY = {(dnt, gpc): Privacy(dnt=dnt, gpc=gpc) for dnt in (False, True) for gpc in (False, True)}
"""The four privacy signal combinations, built once (frozen): a model per request costs more."""


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


async def read_limited(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _cors(origin: str | None) -> dict[str, str]:
    # Retry-After must be readable cross-origin: the tracker waits as long as a 429 or 503 asks.
    return (
        {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "Retry-After", "Vary": "Origin"}
        if origin
        else {}
    )


def _problem(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Outcome:
    prometheus.observe_collect(status, {"error": code})
    return error_outcome(status, code, message, field, headers)


class CollectEndpoint:
    """``POST /v1/collect`` as a bare ASGI app, which ``TactfulAPI`` calls before its middleware stack.

    Collect is nearly all of a site's traffic, and the general stack (error, body-limit, telemetry,
    request-context and exception middleware, routing, Response objects) cost a quarter of a worker
    on it. This endpoint does itself what that stack does for other routes: the request id, the
    per-route timing and status metrics, and a logged JSON 500 for an unexpected error.
    """

    def __init__(self) -> None:
        self._seconds = prometheus.REQUEST_SECONDS.labels(PATH, "POST")
        self._responses = {
            status_class: prometheus.RESPONSES.labels(PATH, f"{status_class}xx") for status_class in (2, 4, 5)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = dict(scope["headers"])
        request_id = request_id_from(headers.get(b"x-request-id"))
        token = REQUEST_ID.set(request_id)
        scope[SCOPE_KEY] = request_id
        try:
            try:
                outcome = await self.answer(scope["app"].state.engine, scope, receive, headers)
            except ClientGone:
                return  # nothing to answer, and nothing was stored: the browser keeps the batch
            except Exception:
                log.exception("unhandled error on POST %s", PATH)
                outcome = error_outcome(500, "internal_error", INTERNAL_ERROR)
            payload = orjson.dumps(outcome.body)
            raw = [_JSON, (b"content-length", str(len(payload)).encode()), (b"x-request-id", request_id.encode())]
            raw += [(name.lower().encode(), value.encode()) for name, value in outcome.headers.items()]
            await send({"type": "http.response.start", "status": outcome.status, "headers": raw})
            await send({"type": "http.response.body", "body": payload})
            seconds = time.perf_counter() - started
            self._seconds.observe(seconds)
            self._responses[min(outcome.status // 100, 5)].inc()
            if scope["app"].state.settings.access_log:
                log_access("POST", PATH, outcome.status, seconds)
        finally:
            REQUEST_ID.reset(token)

    @staticmethod
    async def answer(engine: Engine, scope: Scope, receive: Receive, headers: dict[bytes, bytes]) -> Outcome:
        origin_raw = headers.get(b"origin")
        origin = origin_raw.decode("latin-1") if origin_raw is not None else None
        client = scope.get("client")
        if engine.limits is not None and (wait := engine.limits.ip(client[0] if client else None)):
            prometheus.RATE_LIMITED.labels("ip").inc()
            return _problem(
                429,
                "rate_limited",
                "too many requests from this address; keep the batch and retry",
                headers={"Retry-After": retry_after(wait)} | _cors(origin),
            )
        content_type = headers.get(b"content-type", b"application/json").split(b";")[0].strip().lower()
        if content_type not in ACCEPTED_TYPES:
            return _problem(415, "unsupported_media_type", "send application/json or text/plain", "Content-Type")
        try:
            body = await read_limited(receive, headers.get(b"content-length"), MAX_BODY_BYTES)
        except BodyTooLarge:
            return _problem(413, "body_too_large", f"the body limit is {MAX_BODY_BYTES} bytes")
        privacy = _PRIVACY[headers.get(b"dnt") == b"1", headers.get(b"sec-gpc") == b"1"]
        started = time.perf_counter()
        outcome = await engine.collect(body, origin, privacy)
        # The server's own time, for load tests: their clients' figures include their own queueing.
        timing = {"Server-Timing": f"app;dur={(time.perf_counter() - started) * 1000:.3f}"}
        prometheus.observe_collect(outcome.status, outcome.body)
        return Outcome(
            outcome.status, outcome.body, outcome.headers | timing | (_cors(origin) if outcome.status != 403 else {})
        )


def is_collect(scope: Scope) -> bool:
    """A ``POST /v1/collect`` (below the scope's ``root_path`` when the app is served under a prefix)."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    path: str = scope["path"]
    root: str | None = scope.get("root_path")
    return (path[len(root) :] if root and path.startswith(root) else path) == PATH


OPENAPI_PATH = {
    PATH: {
        "post": {"tags": ["collect"], "summary": "Collect", "operationId": "collect_v1_collect_post", **COLLECT_OPENAPI}
    }
}
"""Collect's entry in /openapi.json (it has no FastAPI route to generate it from)."""


@router.options("/v1/collect", include_in_schema=False)
async def collect_preflight(request: Request, engine: EngineDep) -> Response:
    origin = request.headers.get("origin")
    if origin is None or not engine.sites.allows_origin_anywhere(origin):
        return problem(403, "origin_not_allowed", f"origin {origin!r} is not allowed by any site", "Origin")
    return Response(
        status_code=204,
        headers=_cors(origin)
        | {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )
