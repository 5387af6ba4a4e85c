"""The agent console in real Chromium loses its socket mid-chat and signs in again: what the agent typed
meanwhile reaches the visitor once each, in the order typed.

Playwright stands between the console and the server (``route_web_socket``): it cuts the socket, and on
the new one holds the server's answer to ``hello`` while the agent types once more, which is the moment
a console that sent at once would put the newer message ahead of the one it resends after ``hello``.
The visitor is a plain WebSocket client, invited by the real engine through /v1/collect.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.browser.conftest import SCREENSHOTS, serving, wait_for
from tests.browser.test_agent_chat import ADMIN, open_demo_to_chat

pytestmark = pytest.mark.browser


@pytest.fixture
def console_server(tmp_path: Any) -> Iterator[tuple[str, str]]:
    env = {"TACTFUL_ADMIN_TOKEN": ADMIN, "TACTFUL_SITE_REFRESH_S": "0.5"}
    with serving(tmp_path, env) as (url, log):
        link = wait_for(lambda: re.search(r"(http://\S+/agent#token=\S+)", log.read_text()), timeout=30).group(1)
        open_demo_to_chat(url)
        yield url, link


def _collect(url: str, visitor: str, events: list[dict[str, Any]]) -> Any:
    now = int(time.time() * 1000)
    body = {"v": 1, "site": "demo", "visitor": visitor, "session": "s_" + visitor[2:], "sent_at": now}
    request = urllib.request.Request(
        url + "/v1/collect",
        data=json.dumps(body | {"events": events}).encode(),
        headers={"content-type": "application/json", "origin": url},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["decision"]


def invited(url: str, visitor: str) -> str:
    """A visit gone wrong at the checkout, then heartbeats until the engine invites: the invitation id."""
    now = int(time.time() * 1000)
    decision = _collect(
        url,
        visitor,
        [
            {"t": "page_view", "ts": now - 30_000, "path": "/demo/"},
            {"t": "page_view", "ts": now - 9_000, "path": "/demo/checkout"},
            {"t": "form_error", "ts": now - 8_000, "field": "postcode", "form": "checkout"},
            {"t": "form_error", "ts": now - 6_000, "field": "postcode", "form": "checkout"},
            {"t": "rage_click", "ts": now - 5_000, "count": 4, "sel": "button.pay"},
        ],
    )
    deadline = time.monotonic() + 20
    while decision is None:
        assert time.monotonic() < deadline, "the engine never invited"
        time.sleep(0.5)
        decision = _collect(url, visitor, [{"t": "heartbeat", "ts": int(time.time() * 1000), "visible": True}])
    assert decision["mode"] == "agent", decision
    return str(decision["invite"])


class Between:
    """Playwright in the middle of the console's socket: every frame the console sends, and a hold on the
    server's frames to the console."""

    def __init__(self) -> None:
        self.routes: list[tuple[Any, Any]] = []
        self.sent: list[list[dict[str, Any]]] = []
        """Per connection, the frames the console sent on it."""
        self.hold = False
        self.held: list[Any] = []
        self.acked: set[str] = set()
        """Message ids the server acknowledged to the console."""

    def __call__(self, route: Any) -> None:
        server = route.connect_to_server()
        frames: list[dict[str, Any]] = []
        self.sent.append(frames)
        self.routes.append((route, server))

        def to_server(message: Any) -> None:
            frames.append(json.loads(message))
            server.send(message)

        def to_console(message: Any) -> None:
            frame = json.loads(message)
            if frame.get("type") == "ack":
                self.acked.add(str(frame.get("cid")))
            if self.hold:
                self.held.append((route, message))
            else:
                route.send(message)

        route.on_message(to_server)
        server.on_message(to_console)

    def release(self) -> None:
        self.hold = False
        for route, message in self.held:
            route.send(message)
        self.held.clear()

    def cut(self) -> None:
        route, server = self.routes[-1]
        server.close()
        route.close()


def _heard(visitor: ClientConnection, page: Any, wanted: int, seconds: float = 10) -> list[str]:
    """The agent's messages the visitor receives, until ``wanted`` of them (Playwright runs meanwhile)."""
    texts: list[str] = []
    deadline = time.monotonic() + seconds
    while len(texts) < wanted and time.monotonic() < deadline:
        try:
            frame = json.loads(visitor.recv(timeout=0.05))
        except TimeoutError:
            page.wait_for_timeout(50)
            continue
        if frame["type"] == "msg" and frame["from"] == "agent":
            texts.append(frame["text"])
    return texts


def test_console_reconnects__typed_while_signing_in_again__visitor_reads_it_in_order_once(
    browser: Any, console_server: tuple[str, str]
) -> None:
    url, link = console_server
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    between = Between()
    try:
        console = context.new_page()
        console.route_web_socket(re.compile(r".*/v1/agent/ws$"), between)
        console.goto(link)
        console.locator("#agent-name").filter(has_text="Demo agent").wait_for()

        visitor_id = "v_consolereconnect1"
        invite = invited(url, visitor_id)
        with connect(
            f"{url.replace('http', 'ws')}/v1/chat/ws?site=demo&visitor={visitor_id}&chat={invite}&last=0",
            additional_headers={"Origin": url},
        ) as visitor:
            console.locator("#offers button.offer").click(timeout=10_000)
            console.locator("#chats button").wait_for()
            text = console.locator("#text")
            text.fill("one")
            text.press("Enter")
            assert _heard(visitor, console, 1) == ["one"]
            # Cut once the console has the acknowledgement: an unacknowledged "one" would rightly be sent
            # again under its id on the next socket (and stored once), which is not what this test is about.
            wait_for(lambda: len(between.acked) == 1, 10, console.wait_for_timeout)

            between.cut()
            console.locator("#connection").filter(has_text="reconnecting").wait_for()
            between.hold = True  # the next socket: the server's hello answer waits
            text.fill("two")  # typed with no socket: kept
            text.press("Enter")
            wait_for(lambda: len(between.sent) == 2 and between.sent[1], 10, console.wait_for_timeout)
            assert [f["type"] for f in between.sent[1]] == ["hello"]
            text.fill("three")  # typed on the new socket before the server answered hello
            text.press("Enter")
            console.wait_for_timeout(300)
            between.release()

            assert _heard(visitor, console, 2) == ["two", "three"]
            sent = [(f["type"], f.get("text")) for f in between.sent[1] if f["type"] in ("hello", "msg")]
            assert sent == [("hello", None), ("msg", "two"), ("msg", "three")], sent
            messages = console.locator("#messages li.agent")
            messages.filter(has_text="three").wait_for()
            shown = messages.evaluate_all("items => items.map(item => item.lastChild.textContent)")
            assert shown == ["one", "two", "three"]  # in the console too, each once
            console.locator("#connection").filter(has_text="connected").wait_for()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            console.screenshot(path=str(SCREENSHOTS / "agent-console-after-reconnect.png"))
    finally:
        context.close()
