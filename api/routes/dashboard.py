"""The marketer dashboard (``/dashboard``): static files; all data comes from the admin API with the token."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import RedirectResponse

from api.static_pages import page_file

router = APIRouter(include_in_schema=False)

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "static" / "dashboard"
_ASSET = re.compile(r"^[a-z][a-z0-9-]{0,63}\.(css|js)$")


def _file(path: Path) -> Response:
    return page_file(path)


@router.get("/dashboard")
async def dashboard() -> Response:
    return _file(DASHBOARD_DIR / "index.html")


@router.get("/dashboard/")
async def dashboard_slash() -> Response:
    return RedirectResponse("/dashboard", status_code=308)


@router.get("/dashboard/assets/{name}")
async def dashboard_asset(name: str) -> Response:
    if not _ASSET.match(name):
        raise HTTPException(404)
    return _file(DASHBOARD_DIR / name)
