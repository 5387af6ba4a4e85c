"""Serving the product's own pages (demo shop, dashboard, agent console) with one strict policy.

No page runs an inline script or style, so the Content-Security-Policy can forbid them: whatever
visitor-controlled text reaches a page can only ever be text.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException, Response

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


def page_csp(form_action: str = "'none'") -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
    )


def page_file(path: Path, *, form_action: str = "'none'", referrer_policy: str = "no-referrer") -> Response:
    """A static file of ours; HTML gets the strict CSP. 404 for anything missing or of an unknown type."""
    if not path.is_file() or path.suffix not in MEDIA_TYPES:
        raise HTTPException(404)
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if path.suffix == ".html":
        headers |= {
            "Content-Security-Policy": page_csp(form_action),
            "Referrer-Policy": referrer_policy,
            "X-Frame-Options": "DENY",
        }
    return Response(path.read_bytes(), media_type=MEDIA_TYPES[path.suffix], headers=headers)
