"""Transfer and capacity in the console (issue #18): an agent hands an active chat to a colleague who is online
with a free slot; the visitor is told, the colleague gets the chat with its history, both loads follow; a
transfer to someone full, away, unknown or to oneself is refused with the reason. The console hears its load."""

from __future__ import annotations

from typing import Any

from tests.chat.conftest import Served, Socket


async def _active_chat(served: Served, agent: Socket) -> tuple[str, str, Socket]:
    taken = await served.taken(agent)
    return taken.visitor, taken.chat, taken.panel


def _load(active: int, limit: int) -> Any:
    return lambda f: f["type"] == "load" and (f["active"], f["max"]) == (active, limit)


async def test_transfer__to_a_free_colleague__visitor_told_colleague_has_history_loads_follow(served: Served) -> None:
    ada_id, ada_token = await served.agent_token("Ada", max_chats=2)
    ada = await served.agent(ada_token)
    await ada.until(_load(0, 2))
    _, invite, visitor = await _active_chat(served, ada)
    await ada.until(_load(1, 2))  # the console's "1 of 2 chats"
    ben_id, ben_token = await served.agent_token("Ben", max_chats=2)
    ben = await served.agent(ben_token)
    await visitor.send(type="msg", cid="m_1", text="Is the kettle in stock?")
    await ada.until(lambda f: f["type"] == "msg" and f["text"] == "Is the kettle in stock?")

    await ada.send(type="colleagues")
    colleagues = await ada.until(lambda f: f["type"] == "colleagues")
    assert [(c["id"], c["name"], c["status"], c["free"]) for c in colleagues["agents"]] == [
        (ben_id, "Ben", "online", 2)
    ]
    await ada.send(type="transfer", chat=invite, to=ben_id)

    await ada.until(lambda f: f["type"] == "withdrawn" and f["chat"] == invite)
    opened = await ben.until(lambda f: f["type"] == "chat" and f["chat"]["id"] == invite)
    assert opened["chat"]["agent"] == ben_id and opened["chat"]["agents"] == [ada_id, ben_id]
    assert await ben.until(lambda f: f["type"] == "msg" and f["text"] == "Is the kettle in stock?")
    told = await visitor.until(lambda f: f["type"] == "state" and f.get("agent_name") == "Ben")
    assert told["state"] == "active"
    assert await visitor.until(lambda f: f["type"] == "msg" and f["text"] == "Ada passed the chat to Ben.")
    await ada.until(_load(0, 2))
    await ben.until(_load(1, 2))

    await visitor.send(type="msg", cid="m_2", text="Thanks Ben")
    await ben.until(lambda f: f["type"] == "msg" and f["text"] == "Thanks Ben")
    await ada.send(type="msg", chat=invite, cid="a_1", text="still here?")
    assert (await ada.until(lambda f: f["type"] == "error"))["error"] == "not_your_chat"
    record = await served.chat.service.chat("demo", invite)
    assert (record["state"], record["agent"]) == ("active", ben_id)


async def test_transfer__full_away_unknown_or_self__refused_with_the_reason_chat_stays(served: Served) -> None:
    full_id, full_token = await served.agent_token("Full", max_chats=1)
    full = await served.agent(full_token)
    _, first, _ = await _active_chat(served, full)  # Full's one slot taken before anyone else signs in
    ada_id, ada_token = await served.agent_token("Ada", max_chats=2)
    ada = await served.agent(ada_token)
    away_id, away_token = await served.agent_token("Away", max_chats=2)
    await served.agent(away_token, status="away")
    _, invite, _ = await _active_chat(served, ada)
    for to, reason in [
        (full_id, "full"),
        (away_id, "offline"),
        ("a_nobody00000", "unknown_agent"),
        (ada_id, "same_agent"),
    ]:
        await ada.send(type="transfer", chat=invite, to=to)
        failed = await ada.until(lambda f: f["type"] == "transfer_failed")
        assert (failed["chat"], failed["reason"]) == (invite, reason)
    await full.send(type="transfer", chat=invite, to=ada_id)  # not Full's chat to give
    assert (await full.until(lambda f: f["type"] == "transfer_failed"))["reason"] == "not_your_chat"
    record = await served.chat.service.chat("demo", invite)
    assert (record["state"], record["agent"]) == ("active", ada_id)
    assert first != invite
