"""Deleting a visitor whose chat is live, or is being opened, on both stores: the chat ends properly (the
agent's slot is freed at once, the console and the visitor's open panel are told), nothing of it or of the
visitor is left or written back afterwards, and webhooks sent for it carry none of the visitor's data."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import websockets

from api.chat.service import ACTIVE, CHAT, OFFER
from api.chat.transcripts import Search
from api.chat.webhooks import OUTBOX
from api.store import MemoryStore, RedisStore, Store
from tests.chat.conftest import Served, Socket
from tests.chat.test_deletion_races import _run_once
from tests.chat.test_webhooks import Receiver, _hook
from tests.store.test_contract_identity import raw_values

BASE = "/v1/admin/sites/demo"
VISITOR_DATA = ("visitor", "session", "context", "outcome", "csat", "verdict", "resolved", "messages", "fallback")


async def _delete(served: Served, visitor: str) -> dict[str, int]:
    async with served.http() as client:
        response = await client.delete(f"{BASE}/visitors/{visitor}")
    assert response.status_code == 200, response.text
    deleted: dict[str, int] = response.json()["deleted"]
    return deleted


async def _load(served: Served, agent_id: str) -> int:
    return await served.store.bounded_add("demo", f"load:{agent_id}", 0) or 0


async def _gone(served: Served, invite: str, visitor: str) -> None:
    store: Store = served.store
    assert await store.get_value("demo", f"chat:{invite}") is None
    for kind in (CHAT, ACTIVE, OFFER):
        assert await store.get_record("demo", kind, invite) is None, kind
    assert await store.read_entries("demo", f"m:{invite}") == []
    assert await served.chat.transcripts.search("demo", Search(visitor=visitor)) == []


async def _nothing_kept_about(served: Served, visitor: str) -> None:
    """No record of the visitor in the store: not even an empty one (memory) or a key with their id (Redis)."""
    store = served.store
    assert await store.load_visitor("demo", visitor) == ({}, {})
    if isinstance(store, MemoryStore):
        assert ("demo", visitor) not in store._visitors
    else:
        assert [key async for key in store.client.scan_iter(match=f"{store.prefix}:*{visitor}*")] == []


async def _closed(socket: Socket, timeout: float = 3.0) -> bool:
    try:
        while True:
            await socket.next(timeout)
    except websockets.ConnectionClosed:
        return True


async def _active_chat(served: Served) -> tuple[str, Socket, str, str, Socket]:
    agent_id, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    taken = await served.taken(agent)
    visitor, invite, panel = taken.visitor, taken.chat, taken.panel
    await panel.until(lambda f: f["type"] == "state" and f["state"] == "active")
    await agent.until(lambda f: f["type"] == "load" and f["active"] == 1)
    return agent_id, agent, visitor, invite, panel


async def test_forget_visitor__chat_active__slot_freed_at_once_console_and_panel_told(served: Served) -> None:
    agent_id, agent, visitor, invite, panel = await _active_chat(served)
    assert await _load(served, agent_id) == 1

    deleted = await _delete(served, visitor)

    assert deleted["chats"] == 1
    assert await _load(served, agent_id) == 0  # at once: not at the agent's next reconnect
    told = await agent.until(lambda f: f["type"] == "ended" and f["chat"] == invite)
    assert told["reason"] == "visitor_data_deleted"
    await agent.until(lambda f: f["type"] == "load" and f["active"] == 0)  # the console's "0 of 3 chats"
    state = await panel.until(lambda f: f["type"] == "state" and f["state"] == "ended")
    assert state["end_reason"] == "visitor_data_deleted" and state["ended_by"] == "admin"
    assert await _closed(panel)  # nothing more to say on a chat that is gone
    await _gone(served, invite, visitor)
    assert await served.chat.service.agent_chats("demo", agent_id) == []
    await served.chat.service.agent_connected("demo", agent_id)  # the reconnect's recount agrees
    assert await _load(served, agent_id) == 0


async def test_forget_visitor__chat_offered__offer_withdrawn_and_slot_freed(served: Served) -> None:
    agent_id, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    visitor, invite = await served.invite()
    await served.visitor(visitor, invite)
    await agent.until(lambda f: f["type"] == "offer")
    assert await _load(served, agent_id) == 1

    await _delete(served, visitor)

    assert await _load(served, agent_id) == 0
    told = await agent.until(lambda f: f["type"] == "ended" and f["chat"] == invite)
    assert told["reason"] == "visitor_data_deleted"
    await agent.send(type="accept", chat=invite)  # too late: the chat is gone
    await agent.until(lambda f: f["type"] == "offer_gone" and f["chat"] == invite)
    await _gone(served, invite, visitor)
    assert await served.chat.service.agent_offers("demo", agent_id) == []


async def test_forget_visitor__chat_active__chat_ended_webhook_without_the_visitors_data(
    served: Served, helpdesk: Receiver
) -> None:
    await _hook(served, helpdesk, include_messages=True)
    _, agent, visitor, invite, panel = await _active_chat(served)
    await panel.send(type="msg", text="my address is 1 Main St", cid="c1")
    await agent.until(lambda f: f["type"] == "msg" and f.get("from") == "visitor")

    await _delete(served, visitor)

    ended = await _delivered(helpdesk, "chat.ended", invite)
    chat = ended["chat"]
    assert chat["end_reason"] == "visitor_data_deleted" and chat["ended_by"] == "admin"
    assert chat["visitor_data_deleted"] is True and chat["state"] == "ended"
    assert not set(VISITOR_DATA) & set(chat), chat
    assert visitor not in str(ended) and "Main St" not in str(ended)


async def test_forget_visitor__events_queued_before_it__sent_redacted__then_nothing_of_the_visitor_kept(
    served: Served,
) -> None:
    """A slow helpdesk: the chat's first event is still being answered while the rest of the chat (its start,
    its end with the transcript, the visitor's rating) waits in the outbox. The visitor's data is deleted
    then: what was queued goes out cut to what a receiver needs to delete its copy, and once it is
    delivered the outbox holds none of it."""
    hold = threading.Event()
    helpdesk = Receiver(hold=hold)
    try:
        await _hook(served, helpdesk, include_messages=True)
        _, agent, visitor, invite, panel = await _active_chat(served)
        await panel.send(type="msg", text="my address is 1 Main St", cid="c1")
        await agent.until(lambda f: f["type"] == "msg" and f.get("from") == "visitor")
        await agent.send(type="end", chat=invite, stuck=True, resolved=True)
        await panel.until(lambda f: f["type"] == "state" and f["state"] == "ended")
        await panel.send(type="rate", score=2)
        await panel.until(lambda f: f["type"] == "rated")
        await _wait_for(lambda: len(helpdesk.arrived) == 1)  # chat.requested, sent, waiting for its answer
        await asyncio.sleep(0.6)  # a delivery round or more: nothing else goes while the first is unanswered
        assert len(helpdesk.arrived) == 1
        queued = await _backlog(served)
        assert [entry["event"] for entry in queued] == ["chat.requested", "chat.started", "chat.ended", "chat.rated"]
        assert visitor in str(queued) and "Main St" in str(queued)  # the outbox has the visitor's data now

        await _delete(served, visitor)
        hold.set()
        await _wait_for(lambda: len(helpdesk.delivered()) == 4)

        sent = helpdesk.delivered()
        assert [body["event"] for body in sent] == ["chat.requested", "chat.started", "chat.ended", "chat.rated"]
        for body in sent[1:]:
            assert body["chat"] == {
                "id": invite,
                "site": "demo",
                "state": body["chat"]["state"],  # as it was when queued: active for chat.started
                "agent": body["chat"]["agent"],
                "agents": body["chat"]["agents"],
                "created_ms": body["chat"]["created_ms"],
                "started_ms": body["chat"]["started_ms"],
                "ended_ms": body["chat"]["ended_ms"],
                "ended_by": body["chat"]["ended_by"],
                "end_reason": body["chat"]["end_reason"],
                "visitor_data_deleted": True,
            }, body
            assert set(body) == {"id", "event", "site", "created_ms", "chat"}, body  # no rating either
            assert visitor not in str(body) and "Main St" not in str(body)
        assert (sent[2]["chat"]["state"], sent[2]["chat"]["ended_by"]) == ("ended", "agent")

        await _wait_for_async(lambda: _empty_backlog(served))
        assert await served.store.read_entries("demo", OUTBOX) == []  # delivered: out of the store
        await _nothing_kept_about(served, visitor)
        if isinstance(served.store, RedisStore):
            values = b"".join(await raw_values(served.store))
            assert visitor.encode() not in values and b"Main St" not in values
        else:
            assert not served.store._chat_state().logs.get(("demo", OUTBOX))
    finally:
        hold.set()
        helpdesk.server.shutdown()
        helpdesk.server.server_close()


async def _backlog(served: Served) -> list[dict[str, Any]]:
    cursor = int(await served.store.get_value("demo", "webhooks:cursor") or 0)
    return [entry for _, entry in await served.store.read_entries("demo", OUTBOX, after=cursor)]


async def _empty_backlog(served: Served) -> bool:
    return not await _backlog(served)


async def _wait_for(check: Callable[[], bool], timeout: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _wait_for_async(check: Callable[[], Awaitable[bool]], timeout: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _delivered(receiver: Receiver, event: str, chat: str, timeout: float = 8.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for body in receiver.delivered():
            if body["event"] == event and body["chat"]["id"] == chat:
                return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event} for {chat}; got {[b['event'] for b in receiver.delivered()]}")


async def test_open_chat__visitor_deleted_between_the_chats_state_and_its_listing__chat_deleted_too(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion runs right after the chat's state is written, before its listing: it finds the chat
    through the listing only, so the chat being opened must not outlive it."""
    store: Store = served.store
    visitor, invite = await served.invite()

    deletions: list[dict[str, int]] = []

    async def delete_visitor() -> None:
        deletions.append(await served.chat.transcripts.forget_visitor("demo", visitor))

    forget = _run_once(delete_visitor)
    compare_and_set = store.compare_and_set

    async def created_then_deleted(site: str, name: str, expected: str | None, new: str | None) -> bool:
        done = await compare_and_set(site, name, expected, new)
        if done and name == f"chat:{invite}" and expected is None and new is not None:
            await forget()
        return done

    monkeypatch.setattr(store, "compare_and_set", created_then_deleted)
    opened = await served.chat.service.open_chat("demo", visitor, invite)
    monkeypatch.undo()

    assert len(deletions) == 1
    assert opened is None
    await _gone(served, invite, visitor)
    with pytest.raises(websockets.InvalidStatus):  # the panel cannot bring it back either
        await served.visitor(visitor, invite)
    assert await store.get_value("demo", f"chat:{invite}") is None


async def test_end__visitor_deleted_once_the_chat_has_ended__nothing_about_the_visitor_written_back(
    served: Served, helpdesk: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The visitor ends the chat and the deletion lands right after the end's compare-and-set: what the end
    does next (the session's chat fields, chat.ended) must not bring back, or send on, the visitor's data."""
    await _hook(served, helpdesk, include_messages=True)
    store: Store = served.store
    _, agent, visitor, invite, panel = await _active_chat(served)

    forget = _run_once(lambda: served.chat.transcripts.forget_visitor("demo", visitor))
    compare_and_set = store.compare_and_set

    async def ended_then_deleted(site: str, name: str, expected: str | None, new: str | None) -> bool:
        done = await compare_and_set(site, name, expected, new)
        if done and name == f"chat:{invite}" and new is not None and '"state":"ended"' in new:
            await forget()
        return done

    monkeypatch.setattr(store, "compare_and_set", ended_then_deleted)
    await panel.send(type="end")
    await agent.until(lambda f: f["type"] == "ended" and f["chat"] == invite)
    await asyncio.sleep(0.3)  # what the end does after telling the console
    monkeypatch.undo()

    await _gone(served, invite, visitor)
    await _nothing_kept_about(served, visitor)
    ended = await _delivered(helpdesk, "chat.ended", invite)
    assert ended["chat"]["visitor_data_deleted"] is True
    assert not set(VISITOR_DATA) & set(ended["chat"]), ended
