"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import StoreDep
from api.responses import json_response
from api.store import StoreUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Response:
    """The process is up."""
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(store: StoreDep) -> Response:
    """Ready only while the state store answers."""
    try:
        await store.ping()
    except StoreUnavailable:
        return json_response({"ready": False, "reason": "state store unavailable"}, 503, {"Retry-After": "2"})
    return json_response({"ready": True})
