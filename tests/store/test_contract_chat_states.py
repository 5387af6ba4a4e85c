"""The chat state machine on both stores: every transition is one compare-and-set of the whole record, so
racing workers never both win a transition and never lose each other's fields; an illegal transition is
refused before it reaches the store; decline goes through the same machine and frees the slot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import cast

import msgspec
import pytest

from api.chat.agents import AgentChange, AgentDirectory, AgentIn, _digest
from api.chat.models import IllegalTransition, check_transition, decode_chat
from api.chat.service import ChatService, Verdict, _offer_to
from api.chat.webhooks import Webhooks
from api.settings import Settings
from api.store import Store
from api.store.bus import MemoryChatBus

SITE = "s1"
VISITOR = "v_statemachine"
AGENT = {"id": "a_one", "name": "Ada"}


def service_on(store: Store, tmp_path: Path) -> ChatService:
    settings = Settings(data_dir=tmp_path, admin_token="state-machine-test-admin-token")
    return ChatService(
        store, MemoryChatBus(), AgentDirectory(store), Webhooks(store, 1.0, 1), settings, lambda site: None
    )


async def open_offered(service: ChatService, store: Store, chat_id: str, agent: str = "a_one") -> None:
    """A chat offered to ``agent``, who holds one unit of load for it."""
    now_ms = service.now_ms()
    await store.put_expiring(SITE, "agents", "somebody", {"status": "online"}, now_ms + 60_000)  # signed in
    await store.put_expiring(SITE, "invites", chat_id, {"visitor": VISITOR, "decision": {}}, now_ms + 60_000)
    assert (await service.open_chat(SITE, VISITOR, chat_id)) is not None
    assert await store.bounded_add(SITE, f"load:{agent}", 1, 3) is not None
    assert await service._change(SITE, chat_id, _offer_to(agent)) is not None


async def test_chat_states__accept_races_timeout__exactly_one_wins_and_the_load_matches(
    store: Store, tmp_path: Path
) -> None:
    service = service_on(store, tmp_path)
    for n in range(8):
        chat_id = f"c_race{n:04d}"
        await store.put_counter(SITE, "load:a_one", 0)
        await open_offered(service, store, chat_id)
        accepted, withdrawn = await asyncio.gather(
            service.accept(SITE, AGENT, chat_id), service.withdraw(SITE, chat_id, "a_one")
        )
        assert (accepted is not None) != withdrawn, (accepted, withdrawn)
        chat = await service.record(SITE, chat_id)
        assert chat is not None
        assert chat.state == ("active" if accepted is not None else "waiting")
        assert await store.bounded_add(SITE, "load:a_one", 0) == (1 if accepted is not None else 0)


async def test_chat_states__concurrent_verdict_rating_and_end__every_change_kept(store: Store, tmp_path: Path) -> None:
    service = service_on(store, tmp_path)
    await open_offered(service, store, "c_fields01")
    assert await service.accept(SITE, AGENT, "c_fields01") is not None
    before = await service.record(SITE, "c_fields01")
    assert before is not None
    work: list[Awaitable[object]] = [
        service.verdict(SITE, "c_fields01", "a_one", True, False),
        service.rate(SITE, "c_fields01", VISITOR, 4),
        service.end(SITE, "c_fields01", agent_id="a_one"),
    ]
    await asyncio.gather(*work)
    chat = await service.record(SITE, "c_fields01")
    assert chat is not None and chat.outcome is not None
    assert (chat.state, chat.ended_by, chat.end_reason, chat.csat) == ("ended", "agent", "ended", 4)
    assert (chat.outcome.stuck, chat.outcome.resolved) == (True, False)
    assert chat.rev == before.rev + 3  # three writes, none lost
    assert await store.bounded_add(SITE, "load:a_one", 0) == 0
    listed = await store.get_record(SITE, "chat", "c_fields01")
    assert listed is not None and listed["rev"] == chat.rev  # the listing copy caught up


async def test_chat_states__many_racing_ratings__one_kept(store: Store, tmp_path: Path) -> None:
    service = service_on(store, tmp_path)
    await open_offered(service, store, "c_rate0001")
    results = await asyncio.gather(*(service.rate(SITE, "c_rate0001", VISITOR, 1 + n % 5) for n in range(12)))
    chat = await service.record(SITE, "c_rate0001")
    assert results.count(True) == 1 and chat is not None
    assert chat.csat == 1 + results.index(True) % 5


async def test_chat_states__illegal_transition__refused_and_the_record_untouched(store: Store, tmp_path: Path) -> None:
    service = service_on(store, tmp_path)
    await open_offered(service, store, "c_illegal1")
    await service.end(SITE, "c_illegal1")
    raw = await store.get_value(SITE, "chat:c_illegal1")
    with pytest.raises(IllegalTransition):
        await service._change(SITE, "c_illegal1", lambda c: msgspec.structs.replace(c, state="active"))
    assert await store.get_value(SITE, "chat:c_illegal1") == raw
    chat = decode_chat(raw or "")
    assert (chat.state, chat.ended_by, chat.end_reason, chat.started_ms) == ("ended", "visitor", "closed", None)
    with pytest.raises(IllegalTransition):
        check_transition("missed", "waiting")


async def test_chat_states__decline__back_to_waiting_and_the_slot_freed(store: Store, tmp_path: Path) -> None:
    service = service_on(store, tmp_path)
    await store.put_counter(SITE, "load:a_one", 0)
    await open_offered(service, store, "c_decline1")
    assert await service.decline(SITE, "a_one", "c_decline1")
    assert not await service.decline(SITE, "a_one", "c_decline1")  # once
    chat = await service.record(SITE, "c_decline1")
    assert chat is not None and (chat.state, chat.offered_to) == ("waiting", None)
    assert await store.bounded_add(SITE, "load:a_one", 0) == 0
    assert await service.accept(SITE, AGENT, "c_decline1") is None  # a declined offer cannot be taken


async def test_chat_states__agent_left_after_taking_it__ended_by_the_agent_leaving(
    store: Store, tmp_path: Path
) -> None:
    service = service_on(store, tmp_path)
    await open_offered(service, store, "c_agentgone")
    assert await service.accept(SITE, AGENT, "c_agentgone") is not None
    assert await service._reassign(SITE, "c_agentgone", "a_one")  # the console went away past the grace
    await service._unanswered(SITE, "c_agentgone")  # and nobody else could take it
    chat = await service.record(SITE, "c_agentgone")
    assert chat is not None and chat.fallback is not None
    assert (chat.state, chat.ended_by, chat.end_reason) == ("ended", "agent", "agent_left")
    await service.end(SITE, "c_agentgone", agent_id="a_one", verdict=Verdict(stuck=False, resolved=True))
    after = await service.record(SITE, "c_agentgone")
    assert after is not None and after.state == "ended" and after.outcome is not None  # a late verdict is kept


class _Interleaving:
    """The store, with every call giving the event loop a turn before and after it, as a network round trip
    does: two admins' read-then-write sequences interleave here on every store, not only on Redis."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self._store, name)
        if not asyncio.iscoroutinefunction(attribute):
            return attribute

        async def call(*args: object, **kwargs: object) -> object:
            await asyncio.sleep(0)
            result = await attribute(*args, **kwargs)
            await asyncio.sleep(0)
            return result

        return call


async def test_agents__disable_rotate_and_capacity_at_once__every_change_kept(store: Store) -> None:
    """One admin disables a leaked token's agent while another rotates its token and a third changes its
    capacity: the agent ends disabled, with the new token's hash and the new capacity."""
    agents = AgentDirectory(cast(Store, _Interleaving(store)))
    created, _ = await agents.create(SITE, AgentIn(name="Ada"), 0)
    disabled, token, changed = await asyncio.gather(
        agents.set_disabled(SITE, created["id"], True),
        agents.rotate(SITE, created["id"]),
        agents.change(SITE, created["id"], AgentChange(max_chats=5)),
    )
    assert disabled is not None and token is not None and changed is not None
    agent = await store.get_record(SITE, "agent", created["id"])
    assert agent is not None
    assert agent["disabled"] is True
    assert agent["token_sha256"] == _digest(token.rsplit(".", 1)[1])
    assert agent["max_chats"] == 5
    assert await agents.authenticate(token) is None  # disabled stays disabled


async def test_agents__rotate_or_change_a_deleted_agent__nothing_written(store: Store) -> None:
    agents = AgentDirectory(store)
    assert await agents.rotate(SITE, "a_gone00000") is None
    assert await agents.set_disabled(SITE, "a_gone00000", True) is None
    assert await store.get_record(SITE, "agent", "a_gone00000") is None
