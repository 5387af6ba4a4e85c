"""The browser bundle (``/tactful.js``) and the demo shop (``/demo``).

The widget is plain ES2017 in ``widget_js/src``. It is concatenated here, once per
process, in the order ``widget_js/bundles.json`` gives, inside one closure, and
minified by rjsmin: no node and no build step, so a fresh checkout serves it as is.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import rjsmin
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from api.static_pages import MEDIA_TYPES, page_file

router = APIRouter(include_in_schema=False)

WIDGET_DIR = Path(__file__).resolve().parents[2] / "widget_js"
DEMO_DIR = Path(__file__).resolve().parents[1] / "static" / "demo"

BUNDLE_CACHE = "public, max-age=300, stale-while-revalidate=86400"
"""The snippet's URL is not versioned: five minutes lets a fix reach every page soon, the ETag
makes the revalidation cheap."""


DEMO_PAGES = {"search", "cart", "checkout", "help"}
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}\.(css|js|svg)$")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str


def minify(source: str) -> str:
    """Comments and needless whitespace out: rjsmin, a small, well-tested minifier with no build step.

    The widget keeps to syntax every minifier reads the same way: no template literals.
    """
    minified = str(rjsmin.jsmin(source)).strip()
    if "`" in minified:  # comments are gone by now, so this is code
        raise ValueError("the widget avoids template literals (keep to ES2017 strings)")
    return minified


def _asset(body: bytes) -> Asset:
    return Asset(body, gzip.compress(body, compresslevel=9, mtime=0), '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


@functools.cache
def bundle(name: str) -> Asset:
    """One served bundle, built on first use and kept for the life of the process."""
    manifest = json.loads((WIDGET_DIR / "bundles.json").read_text("utf-8"))
    parts = [minify((WIDGET_DIR / "src" / part).read_text("utf-8")) for part in manifest[name]]
    source = "\n".join(parts)
    build = hashlib.sha256(source.encode()).hexdigest()[:12]
    text = (
        f"/*! Tactful {name} {build} | docs/embedding.md */\n"
        f"(function(){{'use strict';var BUILD='{build}';\n{source}\n}})();\n"
    )
    return _asset(text.encode())


def bundle_names() -> list[str]:
    manifest = json.loads((WIDGET_DIR / "bundles.json").read_text("utf-8"))
    return [name for name in manifest if not name.startswith("_")]


def accepts_gzip(header: str) -> bool:
    for coding in header.lower().split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def serve(request: Request, asset: Asset, media_type: str, headers: dict[str, str]) -> Response:
    """With an ETag (304 when it matches) and gzip when the client takes it."""
    headers = headers | {"ETag": asset.etag, "Vary": "Accept-Encoding", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        return Response(asset.gzipped, media_type=media_type, headers=headers | {"Content-Encoding": "gzip"})
    return Response(asset.body, media_type=media_type, headers=headers)


@router.api_route("/tactful.js", methods=["GET", "HEAD"])
@router.api_route("/tactful-tracker.js", methods=["GET", "HEAD"])
async def widget(request: Request) -> Response:
    """The full bundle, or the tracker alone for sites that only want analytics."""
    # Any origin may load it (it is public); CORP lets pages with COEP embed it too.
    return serve(
        request,
        bundle(request.url.path.lstrip("/")),
        MEDIA_TYPES[".js"],
        {
            "Cache-Control": BUNDLE_CACHE,
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


def _demo_file(path: Path) -> Response:
    """The demo proves the bundle needs neither inline scripts nor inline styles."""
    return page_file(path, form_action="'self'", referrer_policy="strict-origin-when-cross-origin")


@router.get("/demo")
async def demo_home() -> Response:
    return _demo_file(DEMO_DIR / "index.html")


@router.get("/demo/")
async def demo_slash() -> Response:
    return RedirectResponse("/demo", status_code=308)


@router.get("/demo/product/{slug}")
async def demo_product(slug: str) -> Response:
    """One page for every product: the shop's script renders the one in the URL."""
    if not _SAFE_NAME.match(slug):
        raise HTTPException(404)
    return _demo_file(DEMO_DIR / "product.html")


@router.get("/demo/help/{topic}")
async def demo_help_topic(topic: str) -> Response:
    """Help topics are routes of a small single-page app: any topic loads the help page."""
    if not _SAFE_NAME.match(topic):
        raise HTTPException(404)
    return _demo_file(DEMO_DIR / "help.html")


@router.get("/demo/assets/{name}")
async def demo_asset(name: str) -> Response:
    if not _ASSET_NAME.match(name):
        raise HTTPException(404)
    return _demo_file(DEMO_DIR / "assets" / name)


@router.get("/demo/{name}")
async def demo_page(name: str) -> Response:
    if name not in DEMO_PAGES:
        raise HTTPException(404)
    return _demo_file(DEMO_DIR / f"{name}.html")


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Browsers ask for it on every page; a 404 would be an error in every visitor's console."""
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})
