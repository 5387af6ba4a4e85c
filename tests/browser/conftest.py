"""Browser fixtures: the real server in a subprocess, Debian's Chromium driven by Playwright.

Without a ``chromium`` on PATH these tests fail in CI (``CI=true``) and are skipped
elsewhere, saying why. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from loadtests.processes import wait_healthy
from loadtests.redis_server import in_ci

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
LOG_TAIL_LINES = 60

# The logs of the servers running now: a failing browser test reports their last lines, so a failure seen
# only in CI says what the server was doing.
_LIVE_LOGS: list[Path] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed and item.get_closest_marker("browser"):
        for log in _LIVE_LOGS:
            with contextlib.suppress(OSError):
                tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                report.sections.append((f"server log {log.parent.name} (last lines)", "\n".join(tail)))
    return report


def wait_for(check: Callable[[], Any], timeout: float = 12.0, sleep: Callable[[float], Any] = time.sleep) -> Any:
    """Poll until ``check()`` is truthy; return its value, or fail saying what was awaited.

    With a page, pass ``sleep`` that waits through Playwright: the sync API runs route
    handlers and event callbacks only while Python is inside one of its calls.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {getattr(check, '__name__', check)}")
        sleep(0.1)


@dataclass
class Server:
    url: str
    log: Path

    def events(self, visitor: str, kind: str | None = None) -> list[dict[str, Any]]:
        """What the API accepted for one visitor, from its event log (duplicates never reach it)."""
        if not self.log.exists():
            return []
        found = []
        for line in self.log.read_text("utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written right now
            if entry.get("visitor") == visitor:
                found += [e for e in entry["events"] if kind is None or e["t"] == kind]
        return found

    def wait_events(
        self, visitor: str, kind: str, count: int = 1, timeout: float = 12.0, sleep: Callable[[float], Any] = time.sleep
    ) -> list[dict[str, Any]]:
        def enough() -> list[dict[str, Any]]:
            events = self.events(visitor, kind)
            return events if len(events) >= count else []

        enough.__name__ = f"{count} {kind} event(s) for {visitor}"
        return wait_for(enough, timeout, sleep)  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(data: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    """``uvicorn api.main:app`` as a user runs it, on a free port, on the memory store, with ``data`` as
    its data directory and ``env`` on top of this process's: yields its URL and its log once healthy."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    full = os.environ | {"TACTFUL_PUBLIC_URL": url, "TACTFUL_DATA_DIR": str(data)} | (env or {})
    full.pop("TACTFUL_REDIS_URL", None)
    log = data / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=full,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            try:
                wait_healthy(f"{url}/healthz", process, timeout_s=30)
            except RuntimeError as error:
                raise RuntimeError(f"{error}\n{log.read_text()[-2000:]}") from None
            _LIVE_LOGS.append(log)
            yield url, log
        finally:
            with contextlib.suppress(ValueError):
                _LIVE_LOGS.remove(log)
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo site as served out of the box, allowing its own origin."""
    data = tmp_path_factory.mktemp("tactful-data")
    with serving(data) as (url, _):
        yield Server(url, data / "events.jsonl")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Per module, not per session: while sync Playwright runs, this thread has a running event loop,
    # and every async test collected after the browser tests (tests/chat, tests/store...) would fail.
    executable = shutil.which("chromium")
    if executable is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if in_ci():
            pytest.fail(f"CI needs Chromium for the browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page with everything it sends to the API and everything it logs."""

    page: Any
    server: Server
    collects: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def visitor(self) -> str:
        return self.page.evaluate("() => JSON.parse(localStorage.getItem('tactful.v'))")  # type: ignore[no-any-return]

    def goto(self, path: str) -> None:
        self.page.goto(self.server.url + path)
        self.page.wait_for_function("() => window.tactful && window.tactful.loaded")

    def pause(self, seconds: float) -> None:
        self.page.wait_for_timeout(seconds * 1000)

    def wait(self, check: Callable[[], Any], timeout: float = 12.0) -> Any:
        return wait_for(check, timeout, self.pause)

    def wait_events(self, visitor: str, kind: str, count: int = 1, timeout: float = 12.0) -> list[dict[str, Any]]:
        return self.server.wait_events(visitor, kind, count, timeout, self.pause)

    def sent(self) -> list[dict[str, Any]]:
        """Every event in every collect request the page made (retries included)."""
        return [event for body in self.collects if body.get("json") for event in body["json"]["events"]]


@pytest.fixture
def context(browser: Any, server: Server) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    yield ctx
    ctx.close()


@pytest.fixture
def watched(context: Any, server: Server) -> Watched:
    page = context.new_page()
    watched = Watched(page, server)

    def on_request(request: Any) -> None:
        if "/v1/collect" in request.url and request.method == "POST":
            body = request.post_data or ""
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            watched.collects.append(
                {
                    "url": request.url,
                    "type": request.resource_type,
                    "body": body,
                    "headers": request.headers,
                    "json": parsed,
                }
            )

    context.on("request", on_request)

    def on_console(message: Any) -> None:
        if message.type == "error":
            watched.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
    return watched


def axe_check(page: Any, selector: str) -> list[dict[str, Any]]:
    """axe-core's violations inside ``selector`` (it reads open shadow roots).

    Evaluated through the DevTools protocol, not added as a script tag: the demo's CSP
    rightly refuses inline scripts.
    """
    page.evaluate(AXE.read_text("utf-8"))
    return page.evaluate(  # type: ignore[no-any-return]
        """async (selector) => (await axe.run({include: [[selector]]},
              {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}}))
              .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                     nodes: v.nodes.map(n => n.html).slice(0, 3)}))""",
        selector,
    )
