"""What the dashboard's browser tests share: the API on a fresh Redis key prefix, and a signed-in page."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from loadtests.processes import running
from loadtests.redis_server import free_port
from tests.api.conftest import delete_prefix


@contextlib.contextmanager
def app_on_redis(
    redis_url: str,
    prefix: str,
    token: str,
    data_dir: Path,
    settings: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """``tactful``'s app in its own process on ``prefix`` of the tests' Redis, with ``token`` as the admin
    token; yields its URL, and deletes the prefix's keys afterwards. ``settings``: more ``TACTFUL_*``."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "TACTFUL_REDIS_URL": redis_url,
        "TACTFUL_REDIS_PREFIX": prefix,
        "TACTFUL_ADMIN_TOKEN": token,
        "TACTFUL_PUBLIC_URL": url,
        "TACTFUL_DATA_DIR": str(data_dir),
    }
    try:
        with running("api.main:app", port, env | dict(settings or {})):
            yield url
    finally:
        delete_prefix(redis_url, prefix)


def signed_in(browser: Any, base_url: str, token: str, height: int = 1000) -> tuple[Any, Any, list[str]]:
    """A new browser context with the dashboard signed in: ``(context, page, errors)``, ``errors`` collecting
    the page's console errors and uncaught exceptions from the start."""
    context = browser.new_context(viewport={"width": 1360, "height": height}, base_url=base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/dashboard")
    page.fill("#token", token)
    page.click("#sign-in-form button[type=submit]")
    return context, page, errors
