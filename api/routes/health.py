"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import ORJSONResponse

from api.deps import EngineDep
from tracker.store import StoreUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> ORJSONResponse:
    """The process is up."""
    return ORJSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(engine: EngineDep) -> ORJSONResponse:
    """Ready only while the state store answers."""
    try:
        await engine.store.ping()
    except StoreUnavailable as error:
        return ORJSONResponse({"ready": False, "reason": str(error)}, status_code=503,
                              headers={"Retry-After": "2"})
    return ORJSONResponse({"ready": True})
