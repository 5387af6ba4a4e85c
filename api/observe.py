"""Request ids, structured logs and per-route timings: one small ASGI middleware and a log formatter.

Every HTTP request gets an id: the caller's ``X-Request-Id`` when it is a sane
token (1 to 64 of ``[A-Za-z0-9._:-]``), a fresh one otherwise. It is echoed in
the response and attached to every log line written while the request runs.
Logs are one JSON object per line. Nothing here ever logs a body, a query
string or a header value other than the request id: tokens travel in headers
and first WebSocket frames, and are never written.
"""

from __future__ import annotations

import logging
import logging.config
import re
import secrets
import time
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import prometheus

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
SCOPE_KEY = "tactful.request_id"
SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
access = logging.getLogger("tactful.access")


def new_request_id() -> str:
    return secrets.token_hex(8)


def request_id_from(incoming: bytes | None) -> str:
    """The caller's ``X-Request-Id`` when it is a sane token, a fresh id otherwise."""
    return incoming.decode() if incoming is not None and SANE_ID.match(incoming) else new_request_id()


class RequestContext:
    """Assigns the request id, times the request by route template, counts responses by status class."""

    def __init__(self, app: ASGIApp, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(next((value for name, value in scope["headers"] if name == b"x-request-id"), None))
        token = REQUEST_ID.set(request_id)
        scope[SCOPE_KEY] = request_id  # for the last-resort error handler, which runs outside this middleware
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                self._observe(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"  # templates only: bounded cardinality
        prometheus.REQUEST_SECONDS.labels(route, scope["method"]).observe(seconds)
        prometheus.RESPONSES.labels(route, f"{status // 100}xx").inc()
        if self.access_log:
            log_access(scope["method"], route, status, seconds)


def log_access(method: str, route: str, status: int, seconds: float) -> None:
    access.info(
        "request", extra={"method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 3)}
    )


# -- logs ---------------------------------------------------------------------------------------

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def logging_config(log_format: str = "json", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for our loggers and uvicorn's (pass it as uvicorn's ``log_config``)."""
    formatter = (
        {"()": JsonFormatter} if log_format == "json" else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "tactful": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["default"], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(log_format, level))
