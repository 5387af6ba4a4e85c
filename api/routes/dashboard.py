"""The marketer dashboard (``/dashboard``): static files; all data comes from the admin API with the token."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import RedirectResponse

router = APIRouter(include_in_schema=False)

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "static" / "dashboard"
DASHBOARD_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
"""No inline script or style: every chart and label is built by the page's own modules with textContent."""
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".js": "text/javascript; charset=utf-8"}
_ASSET = re.compile(r"^[a-z][a-z0-9-]{0,63}\.(css|js)$")


def _file(path: Path) -> Response:
    if not path.is_file():
        raise HTTPException(404)
    return Response(path.read_bytes(), media_type=MEDIA_TYPES[path.suffix], headers={
        "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": DASHBOARD_CSP,
        "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"})


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
