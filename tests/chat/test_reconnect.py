"""Connections drop mid-chat and come back: nothing lost, nothing twice; a vanished agent's chat moves on."""

from __future__ import annotations

from typing import Any

from tests.chat.conftest import Served, Socket
from tracker.days import day_of


async def _active_chat(served: Served, name: str = "Ada") -> tuple[Socket, Socket, str, str, str]:
    _, token = await served.agent_token(name)
    agent = await served.agent(token)
    visitor_id, invite = await served.invite()
    visitor = await served.visitor(visitor_id, invite)
    await agent.until(lambda f: f["type"] == "offer")
    await agent.send(type="accept", chat=invite)
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active")
    return agent, visitor, token, visitor_id, invite


def _texts(frames: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for f in frames if f["type"] == "msg" and f["from"] != "system"]


async def test_visitor_drops_and_returns__resumes_from_last_id__resend_not_duplicated(served: Served) -> None:
    agent, visitor, _, visitor_id, invite = await _active_chat(served)
    await visitor.send(type="msg", cid="c_1", text="one")
    seen = await visitor.until(lambda f: f["type"] == "msg" and f["text"] == "one")
    await visitor.close()
    await agent.until(lambda f: f["type"] == "visitor" and f["online"] is False)

    await agent.send(type="msg", chat=invite, cid="a_1", text="while you were away")
    await agent.send(type="msg", chat=invite, cid="a_2", text="and another")
    await agent.until(lambda f: f["type"] == "ack" and f["cid"] == "a_2")

    back = await served.visitor(visitor_id, invite, last=seen["id"])
    await back.send(type="msg", cid="c_1", text="one")  # the panel resends what it never saw acknowledged
    ack = await back.until(lambda f: f["type"] == "ack" and f["cid"] == "c_1")
    assert ack["id"] == seen["id"]  # the same message, not a new one
    await back.send(type="msg", cid="c_2", text="two")
    two = await back.until(lambda f: f["type"] == "msg" and f["text"] == "two")
    resumed = [f for f in back.seen if f["type"] == "msg"] + [two]  # until() takes the frame it returns
    assert _texts(resumed) == ["while you were away", "and another", "two"]
    assert all(f["id"] > seen["id"] for f in resumed)
    ids = [m["id"] for m in await served.chat.service.messages("demo", invite)]
    assert ids == sorted(set(ids))
    assert _texts([{"type": "msg"} | m for m in await served.chat.service.messages("demo", invite)]) == [
        "one",
        "while you were away",
        "and another",
        "two",
    ]
    await agent.until(lambda f: f["type"] == "msg" and f.get("text") == "two")
    assert _texts([f for f in agent.seen if f["type"] == "msg"]).count("one") == 1  # the resend reached nobody


async def test_agent_drops_and_returns_within_grace__keeps_the_chat_and_missed_messages(served: Served) -> None:
    agent, visitor, token, _, invite = await _active_chat(served)
    await visitor.send(type="msg", cid="c_1", text="first")
    first = await agent.until(lambda f: f["type"] == "msg" and f.get("text") == "first")
    await agent.close()
    await visitor.send(type="msg", cid="c_2", text="are you there?")
    await visitor.until(lambda f: f["type"] == "ack" and f["cid"] == "c_2")

    back = await served.agent(token, last={invite: first["id"]})
    reopened = await back.until(lambda f: f["type"] == "chat")
    assert reopened["chat"]["id"] == invite and reopened["chat"]["state"] == "active"
    missed = await back.until(lambda f: f["type"] == "msg" and f["chat"] == invite)
    assert missed["text"] == "are you there?"
    await back.nothing(lambda f: f["type"] == "msg" and f.get("text") == "first", seconds=0.8)
    assert await served.chat.service.state("demo", invite) == f"active:{reopened['chat']['agent']}"


async def test_agent_gone_past_grace__chat_reoffered_and_visitor_told(served: Served) -> None:
    agent, visitor, _, _, invite = await _active_chat(served, "Gone")
    _, other_token = await served.agent_token("Stays")
    other = await served.agent(other_token)
    await agent.close()
    notice = await visitor.until(lambda f: f["type"] == "msg" and f["from"] == "system" and "lost" in f["text"], 5)
    assert "Gone" in notice["text"]
    assert (await other.until(lambda f: f["type"] == "offer", 5))["chat"]["id"] == invite
    await other.send(type="accept", chat=invite)
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active" and f["agent_name"] == "Stays")


async def test_agent_gone_past_grace__taken_over__still_one_chat_started(served: Served) -> None:
    """The dashboard's "chats started" counts chats, not acceptances: a takeover is the same chat."""
    agent, _, _, _, invite = await _active_chat(served, "Gone")
    _, other_token = await served.agent_token("Stays")
    other = await served.agent(other_token)
    await agent.close()
    await other.until(lambda f: f["type"] == "offer", 5)
    await other.send(type="accept", chat=invite)
    await other.until(lambda f: f["type"] == "chat")

    counts = await served.store.counters("demo", day_of(served.app.state.engine.now_ms()))

    assert (counts.get("chats_requested"), counts.get("chats_started")) == (1, 1)
    chat = await served.chat.service.chat("demo", invite)
    assert len(chat["agents"]) == 2 and chat["agents"][0] != chat["agents"][1]
