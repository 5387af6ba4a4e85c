"""Webhooks against a real HTTP receiver: signed, retried on 500, in order per chat, failures visible."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from api.chat import sign, verify
from tests.chat.conftest import Served

SECRET = "whsec_test_secret_0123456789"


class Receiver:
    """A helpdesk: answers the first ``fail_first`` requests with 500, then 200; keeps what it got."""

    def __init__(self, fail_first: int = 0, always: int | None = None) -> None:
        self.fail_first = fail_first
        self.always = always
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.always or (500 if len(receiver.requests) < receiver.fail_first else 200)
                receiver.requests.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tactful"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body, status in self.requests if status == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(fail_first=2)
    yield running
    running.server.shutdown()
    running.server.server_close()


async def _chat_through(served: Served, invite_count: int = 2) -> list[str]:
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    chats = []
    for _ in range(invite_count):
        visitor_id, invite = await served.invite()
        await served.visitor(visitor_id, invite)
        await agent.until(lambda f, invite=invite: f["type"] == "offer" and f["chat"]["id"] == invite)
        await agent.send(type="accept", chat=invite)
        await agent.until(lambda f, invite=invite: f["type"] == "chat" and f["chat"]["id"] == invite)
        chats.append(invite)
    for invite in chats:
        await agent.send(type="end", chat=invite, stuck=False, resolved=True)
        await agent.until(lambda f, invite=invite: f["type"] == "closed" and f["chat"] == invite)
    return chats


async def _wait(check: Any, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for deliveries"
        await asyncio.sleep(0.05)


async def test_webhooks__signed_retried_on_500__ordered_per_chat(served: Served, receiver: Receiver) -> None:
    async with served.http() as admin:
        response = await admin.put("/v1/admin/sites/demo/webhook", json={"url": receiver.url, "secret": SECRET})
        assert response.status_code == 200, response.text
    chats = await _chat_through(served)
    await _wait(lambda: len(receiver.delivered()) == 6)

    assert [status for _, _, status in receiver.requests[:3]] == [500, 500, 200]  # the first one, retried
    for headers, body, _ in receiver.requests:
        assert verify(SECRET, headers["Tactful-Signature"], body, time.time())
        assert not verify("whsec_some_other_secret_000", headers["Tactful-Signature"], body, time.time())
        assert not verify(SECRET, headers["Tactful-Signature"], body + b" ", time.time())
    for chat in chats:
        events = [d["event"] for d in receiver.delivered() if d["chat"]["id"] == chat]
        assert events == ["chat.requested", "chat.started", "chat.ended"]
    ended = next(d for d in receiver.delivered() if d["event"] == "chat.ended")
    assert ended["chat"]["context"]["reasons"] == ["form_errors"]
    async with served.http() as admin:
        status = (await admin.get("/v1/admin/sites/demo/webhook")).json()["status"]
    assert status["delivered"] == 6 and status["backlog"] == 0 and status["failed"] == 0
    assert status["last_error"]["error"] == "HTTP 500"


async def test_webhooks__receiver_keeps_failing__reported_to_admin(served: Served) -> None:
    broken = Receiver(always=503)
    try:
        served.chat.webhooks.max_attempts = 2
        async with served.http() as admin:
            await admin.put("/v1/admin/sites/demo/webhook", json={"url": broken.url, "secret": SECRET})
            await _chat_through(served, invite_count=1)
            await _wait(lambda: len(broken.requests) >= 6)
            status = (await admin.get("/v1/admin/sites/demo/webhook")).json()["status"]
        assert status["failed"] >= 3
        assert status["failures"][0]["error"] == "HTTP 503" and status["failures"][0]["attempts"] == 2
    finally:
        broken.server.shutdown()
        broken.server.server_close()


def test_sign__known_vector() -> None:
    assert sign("secret", 1_700_000_000, b'{"a":1}') == (
        "t=1700000000, v1=" + __import__("hmac").new(b"secret", b'1700000000.{"a":1}', "sha256").hexdigest())
    assert not verify("secret", sign("secret", 1_700_000_000, b"{}"), b"{}", now_s=1_700_000_000 + 301)
