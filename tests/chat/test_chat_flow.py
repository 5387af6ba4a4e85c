"""A chat from invitation to verdict, over real WebSockets, on both stores."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.chat.conftest import Served

HOSTILE = "<img src=x onerror=alert(1)>"


async def test_chat__offer_accept_talk_end__verdict_becomes_a_label(served: Served) -> None:
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    visitor_id, invite = await served.invite()
    visitor = await served.visitor(visitor_id, invite)
    assert (await visitor.until(lambda f: f["type"] == "state"))["state"] == "waiting"

    offer = await agent.until(lambda f: f["type"] == "offer")
    assert offer["chat"]["id"] == invite
    assert offer["chat"]["context"]["reasons"] == ["form_errors"]
    assert offer["chat"]["context"]["score"] == 0.83
    await agent.send(type="accept", chat=invite)
    opened = await agent.until(lambda f: f["type"] == "chat")
    assert opened["chat"]["state"] == "active"
    assert (await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active"))["agent_name"] == "Ada"

    await visitor.send(type="msg", cid="c_v1", text=HOSTILE)
    assert (await agent.until(lambda f: f["type"] == "msg" and f["from"] == "visitor"))["text"] == HOSTILE
    await agent.send(type="typing", chat=invite)
    await visitor.until(lambda f: f["type"] == "typing")
    await agent.send(type="msg", chat=invite, cid="c_a1", text="Happy to help")
    assert (await visitor.until(lambda f: f["type"] == "msg" and f["from"] == "agent"))["text"] == "Happy to help"

    await agent.send(type="end", chat=invite, stuck=True, resolved=True)
    await agent.until(lambda f: f["type"] == "closed")
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "ended")
    await visitor.send(type="rate", score=5)
    assert (await visitor.until(lambda f: f["type"] == "rated"))["ok"] is True

    chat = await served.chat.service.chat("demo", invite)
    assert chat["outcome"]["stuck"] is True and chat["outcome"]["resolved"] is True
    assert chat["csat"] == 5
    assert await served.store.bounded_add("demo", f"load:{chat['agent']}", 0) == 0  # the slot is free again
    assert await served.learned("verdict_stuck") == 1


async def test_visitor__unknown_invite__refused_at_the_handshake(served: Served) -> None:
    visitor_id, _ = await served.invite()
    with pytest.raises(websockets.InvalidStatus, match="403"):
        await served.visitor(visitor_id, "i_notaninvite1")


async def test_visitor__someone_elses_invite__refused(served: Served) -> None:
    _, invite = await served.invite()
    with pytest.raises(websockets.InvalidStatus, match="403"):
        await served.visitor("v_intruder0001", invite)


async def test_agent__bad_token__refused_with_a_reason(served: Served) -> None:
    connection = await websockets.connect(f"{served.ws}/v1/agent/ws")
    await connection.send('{"type": "hello", "token": "tfa.demo.a_000000000000.nottherightsecretatall"}')
    assert "invalid_token" in await asyncio.wait_for(connection.recv(), 3)
    await connection.close()
