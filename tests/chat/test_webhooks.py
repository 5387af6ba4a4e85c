"""Webhooks against a real HTTP receiver: signed, retried on 500, in order per chat, failures visible."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from api.chat import sign, verify
from api.chat.webhooks import OUTBOX, subscribed
from tests.chat.conftest import Served

SECRET = "whsec_test_secret_0123456789"


class Receiver:
    """A helpdesk: answers the first ``fail_first`` requests with 500, then 200; keeps what it got. With
    ``hold``, a slow one: every answer waits until ``hold`` is set (at most ``HOLD_S``)."""

    HOLD_S = 4.0

    def __init__(self, fail_first: int = 0, always: int | None = None, hold: threading.Event | None = None) -> None:
        self.fail_first = fail_first
        self.always = always
        self.hold = hold
        self.arrived: list[bytes] = []
        """Every request's body as it arrived, before any answer."""
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrived.append(body)
                if receiver.hold is not None:
                    receiver.hold.wait(Receiver.HOLD_S)
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


@contextlib.contextmanager
def receiving(fail_first: int = 0) -> Iterator[Receiver]:
    """A ``Receiver`` on a free port for the block, shut down after it."""
    running = Receiver(fail_first=fail_first)
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving(fail_first=2) as running:
        yield running


def _about(kind: str, chat: str) -> Callable[[dict[str, Any]], bool]:
    """A frame of ``kind`` for ``chat`` (an offer or a chat carries the chat, the rest its id)."""
    return lambda frame: (
        frame["type"] == kind
        and (frame["chat"]["id"] if isinstance(frame.get("chat"), dict) else frame.get("chat")) == chat
    )


async def _chat_through(served: Served, invite_count: int = 2) -> list[str]:
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    chats = []
    for _ in range(invite_count):
        visitor_id, invite = await served.invite()
        await served.visitor(visitor_id, invite)
        await agent.until(_about("offer", invite))
        await agent.send(type="accept", chat=invite)
        await agent.until(_about("chat", invite))
        chats.append(invite)
    for invite in chats:
        await agent.send(type="end", chat=invite, stuck=False, resolved=True)
        await agent.until(_about("closed", invite))
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
        assert verify(SECRET, headers["Tactful-Signature"], body)
        assert not verify("whsec_some_other_secret_000", headers["Tactful-Signature"], body)
        assert not verify(SECRET, headers["Tactful-Signature"], body + b" ")
    for chat in chats:
        events = [d["event"] for d in receiver.delivered() if d["chat"]["id"] == chat]
        assert events == ["chat.requested", "chat.started", "chat.ended"]
    ended = next(d for d in receiver.delivered() if d["event"] == "chat.ended")
    assert ended["chat"]["context"]["reasons"] == ["form_errors"]
    async with served.http() as admin:
        status = (await admin.get("/v1/admin/sites/demo/webhook")).json()["status"]
    assert status["delivered"] == 6 and status["backlog"] == 0 and status["failed"] == 0
    assert status["last_error"]["error"] == "HTTP 500"


async def _outbox_empty(served: Served, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while await served.store.read_entries("demo", OUTBOX):
        assert time.monotonic() < deadline, "the outbox kept entries"
        await asyncio.sleep(0.05)


async def test_webhooks__delivered_events_leave_the_outbox__delivery_ids_keep_counting(
    served: Served, helpdesk: Receiver
) -> None:
    await _hook(served, helpdesk)
    await _chat_through(served, invite_count=1)
    await _wait(lambda: len(helpdesk.delivered()) == 3)
    await _outbox_empty(served)  # delivered: nothing of these chats kept for the webhook

    await _chat_through(served, invite_count=1)
    await _wait(lambda: len(helpdesk.delivered()) == 6)
    await _outbox_empty(served)
    ids = [headers["Tactful-Delivery"] for headers, _, _ in helpdesk.requests]
    assert ids == [f"wh_demo_{n}" for n in range(1, 7)]  # a receiver deduplicating on the id loses nothing
    assert [body["id"] for body in helpdesk.delivered()] == ids
    async with served.http() as admin:
        status = (await admin.get("/v1/admin/sites/demo/webhook")).json()["status"]
    assert status["delivered"] == 6 and status["backlog"] == 0


async def test_webhooks__removed_with_a_backlog__backlog_dropped__configured_again_only_new_events(
    served: Served, helpdesk: Receiver
) -> None:
    down = Receiver(always=503)
    try:
        await _hook(served, down)
        await _chat_through(served, invite_count=1)
        await _wait(lambda: len(down.requests) >= 2)  # the first event retried: all three wait
        assert len(await served.store.read_entries("demo", OUTBOX)) == 3
        async with served.http() as admin:
            assert (await admin.delete("/v1/admin/sites/demo/webhook")).status_code == 204
        await _outbox_empty(served, timeout=0.5)  # at once: nothing is left to send them to
    finally:
        down.server.shutdown()
        down.server.server_close()

    await _hook(served, helpdesk)
    chats = await _chat_through(served, invite_count=1)
    await _wait(lambda: len(helpdesk.delivered()) == 3)
    await asyncio.sleep(0.6)  # a delivery round more: nothing older follows
    assert {body["chat"]["id"] for body in helpdesk.delivered()} == set(chats)
    assert [body["id"] for body in helpdesk.delivered()] == ["wh_demo_4", "wh_demo_5", "wh_demo_6"]
    await _outbox_empty(served)


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
        await _outbox_empty(served)  # given up on: gone too, the failure kept only as the admin sees it
    finally:
        broken.server.shutdown()
        broken.server.server_close()


def test_sign__known_vector() -> None:
    assert sign("secret", 1_700_000_000, b'{"a":1}') == (
        "t=1700000000, v1=" + __import__("hmac").new(b"secret", b'1700000000.{"a":1}', "sha256").hexdigest()
    )
    assert not verify("secret", sign("secret", 1_700_000_000, b"{}"), b"{}", now_s=1_700_000_000 + 301)


async def _hook(served: Served, receiver: Receiver, **spec: Any) -> None:
    async with served.http() as admin:
        response = await admin.put("/v1/admin/sites/demo/webhook", json={"url": receiver.url, "secret": SECRET} | spec)
    assert response.status_code == 200, response.text


def _events(receiver: Receiver, chat: str) -> dict[str, dict[str, Any]]:
    return {d["event"]: d for d in receiver.delivered() if d["chat"]["id"] == chat}


async def test_webhooks__agent_ends_with_verdict__chat_ended_carries_it__later_rating_is_chat_rated(
    served: Served, helpdesk: Receiver
) -> None:
    """Issue #18: chat.ended had outcome and csat null even after a verdict; a later rating sent nothing."""
    await _hook(served, helpdesk)
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    visitor_id, invite = await served.invite()
    visitor = await served.visitor(visitor_id, invite)
    await agent.until(lambda f: f["type"] == "offer")
    await agent.send(type="accept", chat=invite)
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active")
    await asyncio.sleep(0.3)  # a chat that lasts
    await agent.send(type="end", chat=invite, stuck=True, resolved=True)
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "ended")
    await visitor.send(type="rate", score=4)
    await visitor.until(lambda f: f["type"] == "rated")
    await _wait(lambda: "chat.rated" in _events(helpdesk, invite))

    events = _events(helpdesk, invite)
    assert [d["event"] for d in helpdesk.delivered()] == ["chat.requested", "chat.started", "chat.ended", "chat.rated"]
    ended = events["chat.ended"]["chat"]
    assert (ended["state"], ended["ended_by"], ended["verdict"], ended["resolved"]) == ("ended", "agent", "stuck", True)
    assert ended["outcome"]["stuck"] is True and ended["outcome"]["resolved"] is True
    assert ended["duration_s"] == (ended["ended_ms"] - ended["started_ms"]) / 1000 and ended["duration_s"] >= 0.3
    assert ended["csat"] is None and "messages" not in ended  # not rated yet; messages only when asked for
    rated = events["chat.rated"]
    assert rated["rating"] == {"by": "visitor", "csat": 4}
    assert rated["chat"]["csat"] == 4 and rated["chat"]["verdict"] == "stuck"
    transcript = await served.chat.service.chat("demo", invite)
    assert transcript["outcome"] == ended["outcome"]  # what the transcript API shows


async def test_webhooks__visitor_ends_then_agent_gives_verdict__chat_rated_by_the_agent(
    served: Served, helpdesk: Receiver
) -> None:
    await _hook(served, helpdesk, include_messages=True)
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    visitor_id, invite = await served.invite()
    visitor = await served.visitor(visitor_id, invite)
    await agent.until(lambda f: f["type"] == "offer")
    await agent.send(type="accept", chat=invite)
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active")
    await visitor.send(type="msg", cid="c_v1", text="Where is my order?")
    await agent.until(lambda f: f["type"] == "msg" and f["from"] == "visitor")
    await agent.send(type="msg", chat=invite, cid="c_a1", text="On its way")
    await visitor.until(lambda f: f["type"] == "msg" and f["from"] == "agent")
    await visitor.send(type="end")
    await agent.until(lambda f: f["type"] == "state" and f["state"] == "ended")
    await agent.send(type="end", chat=invite, stuck=False, resolved=True)  # the console's verdict form
    await agent.until(lambda f: f["type"] == "closed")
    await _wait(lambda: "chat.rated" in _events(helpdesk, invite))

    events = _events(helpdesk, invite)
    ended = events["chat.ended"]["chat"]
    assert (ended["ended_by"], ended["verdict"], ended["outcome"]) == ("visitor", None, None)
    assert [(m["from"], m["text"]) for m in ended["messages"] if m["from"] != "system"] == [
        ("visitor", "Where is my order?"),
        ("agent", "On its way"),
    ]
    assert ended["messages_truncated"] is False and all("cid" not in m for m in ended["messages"])
    rated = events["chat.rated"]
    assert rated["rating"] == {"by": "agent", "verdict": "not_stuck", "resolved": True}
    assert (rated["chat"]["verdict"], rated["chat"]["resolved"]) == ("not_stuck", True)
    assert "messages" not in rated["chat"]  # the transcript went with chat.ended


async def test_webhooks__unknown_event_or_bad_option__422_naming_the_field(served: Served) -> None:
    async with served.http() as admin:
        unknown = await admin.put(
            "/v1/admin/sites/demo/webhook", json={"url": "https://helpdesk.example.com/h", "events": ["chat.typo"]}
        )
        empty = await admin.put(
            "/v1/admin/sites/demo/webhook", json={"url": "https://helpdesk.example.com/h", "events": []}
        )
        option = await admin.put(
            "/v1/admin/sites/demo/webhook",
            json={"url": "https://helpdesk.example.com/h", "include_messages": "sometimes"},
        )
    assert (unknown.status_code, unknown.json()["field"]) == (422, "events.0")
    assert (empty.status_code, empty.json()["field"]) == (422, "events")
    assert (option.status_code, option.json()["field"]) == (422, "include_messages")


def test_subscribed__default_stored_before_chat_rated_existed__still_means_every_event() -> None:
    assert subscribed({"events": None}, "chat.rated")
    assert subscribed({"events": ["chat.requested", "chat.started", "chat.ended"]}, "chat.rated")
    assert not subscribed({"events": ["chat.ended"]}, "chat.rated")
    assert subscribed({"events": ["chat.ended"]}, "chat.ended")
