"""A visitor's deletion that lands in the middle of another write to their data: what was deleted stays deleted.

Each test makes the deletion happen at the worst moment, with the app's own store patched to run it right
after the other writer has read (or written the chat's state), on both stores. Written as a read and then a
``put_record``, every one of these brought the deleted data back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from api.chat.service import ACTIVE, CHAT, OFFER
from api.chat.transcripts import OFFLINE, Search
from api.store import Store
from tests.chat.conftest import ORIGIN, Served

BASE = "/v1/admin/sites/demo"


def _run_once(action: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[bool]]:
    """``action`` the first time the returned hook is awaited, nothing afterwards; true when it ran."""
    done: list[bool] = []

    async def hook() -> bool:
        if done:
            return False
        done.append(True)
        await action()
        return True

    return hook


def _deleted_once_written(
    served: Served, monkeypatch: pytest.MonkeyPatch, visitor: str, invite: str, state: str
) -> list[dict[str, int]]:
    """Patch the store so that the visitor's data is deleted right after the chat's record is written in
    ``state``, at the worst moment for what the service writes next; returns the deletions' answers."""
    store: Store = served.store
    deletions: list[dict[str, int]] = []

    async def delete_visitor() -> None:
        deletions.append(await served.chat.transcripts.forget_visitor("demo", visitor))

    forget = _run_once(delete_visitor)
    compare_and_set = store.compare_and_set

    async def written_then_deleted(site: str, name: str, expected: str | None, new: str | None) -> bool:
        done = await compare_and_set(site, name, expected, new)
        if done and name == f"chat:{invite}" and new is not None and f'"state":"{state}"' in new:
            await forget()
        return done

    monkeypatch.setattr(store, "compare_and_set", written_then_deleted)
    return deletions


async def test_mark_handled__visitor_deleted_between_read_and_write__message_stays_deleted(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Store = served.store
    transcripts = served.chat.transcripts
    assert transcripts.store is store
    async with served.http() as client:
        form = {"site": "demo", "visitor": "v_racegone01", "email": "ada@example.org", "message": "Delete me"}
        left = await client.post("/v1/chat/offline", json=form, headers={"Origin": ORIGIN})
        assert left.status_code == 201, left.text
        message_id = left.json()["id"]

        deletions: list[dict[str, Any]] = []

        async def delete_visitor() -> None:
            deleted = await client.delete(f"{BASE}/visitors/v_racegone01")
            deletions.append(deleted.json()["deleted"])

        forget = _run_once(delete_visitor)
        get_record, update_record = store.get_record, store.update_record

        async def read_then_deleted(site: str, kind: str, key: str) -> Any:
            found = await get_record(site, kind, key)
            if kind == OFFLINE:
                await forget()  # the admin's deletion, right after this read
            return found

        async def deleted_then_updated(site: str, kind: str, key: str, fields: Any) -> Any:
            if kind == OFFLINE:
                await forget()  # the read is the update's own step: the deletion can only come before it
            return await update_record(site, kind, key, fields)

        monkeypatch.setattr(store, "get_record", read_then_deleted)
        monkeypatch.setattr(store, "update_record", deleted_then_updated)
        marked = await client.post(f"{BASE}/offline-messages/{message_id}/handled", json={"handled": True})
        monkeypatch.undo()

        assert [deleted["offline_messages"] for deleted in deletions] == [1]
        assert marked.status_code == 404, marked.text
        assert await store.get_record("demo", OFFLINE, message_id) is None
        inbox = await client.get(f"{BASE}/offline-messages")
        assert inbox.status_code == 200 and inbox.json() == []


async def test_accept__visitor_deleted_once_the_chat_is_active__listing_slot_and_messages_stay_deleted(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion lands between the accept's compare-and-set of the chat and what follows it: the listing
    transcripts search, the agent's active-chat record (which counts in their load) and the "joined" line."""
    store: Store = served.store
    service = served.chat.service
    agent_id, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    visitor, invite = await served.invite()
    await served.visitor(visitor, invite)
    await agent.until(lambda f: f["type"] == "offer")

    deletions = _deleted_once_written(served, monkeypatch, visitor, invite, "active")
    await agent.send(type="accept", chat=invite)
    await agent.send(type="status", status="away")  # answered once the accept has been handled: frames go in turn
    await agent.until(lambda f: f["type"] == "status" and f["status"] == "away")
    monkeypatch.undo()

    assert [deleted["chats"] for deleted in deletions] == [1]
    assert await store.get_value("demo", f"chat:{invite}") is None
    assert await store.get_record("demo", CHAT, invite) is None
    assert await served.chat.transcripts.search("demo", Search(visitor=visitor)) == []
    assert await store.get_record("demo", ACTIVE, invite) is None
    assert await store.get_record("demo", OFFER, invite) is None
    assert await store.read_entries("demo", f"m:{invite}") == []
    assert await service.agent_chats("demo", agent_id) == []
    await service.agent_connected("demo", agent_id)  # the recount on reconnect holds no slot for it
    assert await store.bounded_add("demo", f"load:{agent_id}", 0) == 0


async def test_end__visitor_deleted_once_the_chat_has_ended__listing_and_messages_stay_deleted(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Store = served.store
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    taken = await served.taken(agent)
    visitor, invite = taken.visitor, taken.chat

    deletions = _deleted_once_written(served, monkeypatch, visitor, invite, "ended")
    await agent.send(type="end", chat=invite, stuck=False, resolved=True)
    await agent.until(lambda f: f["type"] == "closed" and f["chat"] == invite)
    monkeypatch.undo()

    assert [deleted["chats"] for deleted in deletions] == [1]
    assert await store.get_value("demo", f"chat:{invite}") is None
    assert await store.get_record("demo", CHAT, invite) is None
    assert await store.get_record("demo", ACTIVE, invite) is None
    assert await store.read_entries("demo", f"m:{invite}") == []


async def test_offer__visitor_deleted_once_the_chat_is_offered__offer_record_stays_deleted(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Store = served.store
    agent_id, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    visitor, invite = await served.invite()

    deletions = _deleted_once_written(served, monkeypatch, visitor, invite, "offered")
    await served.visitor(visitor, invite)
    await agent.until(lambda f: f["type"] == "offer")  # sent once the offer record was written
    monkeypatch.undo()

    assert [deleted["chats"] for deleted in deletions] == [1]
    assert await store.get_value("demo", f"chat:{invite}") is None
    assert await store.get_record("demo", CHAT, invite) is None
    assert await store.get_record("demo", OFFER, invite) is None
    assert await served.chat.service.agent_offers("demo", agent_id) == []


async def test_forget_visitor__chat_changes_while_it_is_deleted__deletion_retries_until_gone(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The visitor rates the chat between the deletion's read of its state and the deletion's compare-and-set:
    the deletion reads again rather than leave the chat's state (its context, its visitor) behind."""
    store: Store = served.store
    visitor, invite = await served.invite()
    await served.visitor(visitor, invite)
    while await served.chat.service.state("demo", invite) in (None, "waiting"):  # nobody online: missed soon
        await asyncio.sleep(0.05)

    rated: list[bool] = []

    async def rate_it() -> None:
        rated.append(await served.chat.service.rate("demo", invite, visitor, 4))

    rate = _run_once(rate_it)
    compare_and_set = store.compare_and_set

    async def changed_under_the_deletion(site: str, name: str, expected: str | None, new: str | None) -> bool:
        if name == f"chat:{invite}" and new is None:
            await rate()
        return await compare_and_set(site, name, expected, new)

    monkeypatch.setattr(store, "compare_and_set", changed_under_the_deletion)
    deleted = await served.chat.transcripts.forget_visitor("demo", visitor)
    monkeypatch.undo()

    assert rated == [True] and deleted["chats"] == 1
    assert await store.get_value("demo", f"chat:{invite}") is None
    assert await store.get_record("demo", CHAT, invite) is None
    assert await served.chat.transcripts.get("demo", invite) is None
