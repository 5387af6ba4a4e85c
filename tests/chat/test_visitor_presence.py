"""The visitor's side of a chat that follows them: tabs and pages come and go, the agent sees whether any tab
has the chat open, a visitor who leaves is ended after the grace (and frees the slot), decline goes to the
next agent at once. On both stores."""

from __future__ import annotations

import asyncio

from api.settings import Settings
from tests.chat.conftest import Served, Socket, serve
from tests.chat.test_reconnect import _active_chat

GRACE_S = 1.5


async def presence(agent: Socket) -> bool:
    """What the console shows now: the last visitor-presence frame of everything that arrived meanwhile."""
    await agent.nothing(lambda f: False, 0.5)  # read all that arrives for a moment
    frames = [f for f in agent.seen if f["type"] == "visitor"]
    assert frames, "no presence frame arrived"
    for frame in frames:
        agent.seen.remove(frame)
    return bool(frames[-1]["online"])


async def test_two_tabs__one_closes__agent_still_sees_the_visitor_online(chat_settings: Settings) -> None:
    async with serve(chat_settings.model_copy(update={"visitor_grace_s": GRACE_S})) as served:
        agent, first, _, visitor_id, invite = await _active_chat(served)
        second = await served.visitor(visitor_id, invite)
        await second.until(lambda f: f["type"] == "state" and f["state"] == "active")
        assert await presence(agent) is True
        await first.close()
        assert await presence(agent) is True  # the other tab has it open
        await asyncio.sleep(GRACE_S + 1.2)
        assert (
            await served.chat.service.state("demo", invite)
            == f"active:{(await served.chat.service.chat('demo', invite))['agent']}"
        )
        await second.send(type="msg", cid="c_tab2", text="still here")
        await agent.until(lambda f: f["type"] == "msg" and f.get("text") == "still here")
        await second.close()
        assert await presence(agent) is False
        back = await served.visitor(visitor_id, invite)  # the next page, well within the grace
        await back.until(lambda f: f["type"] == "state" and f["state"] == "active")
        assert await presence(agent) is True


async def test_visitor_leaves__ended_after_the_grace_by_the_visitor__slot_freed(chat_settings: Settings) -> None:
    async with serve(chat_settings.model_copy(update={"visitor_grace_s": GRACE_S})) as served:
        agent, visitor, _, _, invite = await _active_chat(served)
        chat = await served.chat.service.chat("demo", invite)
        assert await served.store.bounded_add("demo", f"load:{chat['agent']}", 0) == 1
        await visitor.close()
        loop = asyncio.get_running_loop()
        left = loop.time()
        await agent.until(lambda f: f["type"] == "ended" and f["chat"] == invite, timeout=GRACE_S + 4)
        assert loop.time() - left >= GRACE_S - 0.3
        ended = await served.chat.service.chat("demo", invite)
        assert (ended["state"], ended["ended_by"], ended["end_reason"]) == ("ended", "visitor", "left")
        assert await served.store.bounded_add("demo", f"load:{chat['agent']}", 0) == 0
        texts = [m["text"] for m in await served.chat.service.messages("demo", invite)]
        assert texts[-1] == "The visitor left the chat."


async def test_agent_declines__offer_goes_to_the_next_agent_at_once(served: Served) -> None:
    first_id, first_token = await served.agent_token("Ada")
    second_id, second_token = await served.agent_token("Bo")
    first = await served.agent(first_token)
    second = await served.agent(second_token)
    visitor_id, invite = await served.invite()
    visitor = await served.visitor(visitor_id, invite)
    # Both free and equally loaded: routing offers to the lower id first (least loaded, then by id).
    holder, other, other_id = (first, second, second_id) if first_id < second_id else (second, first, first_id)
    got = await holder.until(lambda f: f["type"] == "offer")
    assert got["chat"]["id"] == invite
    await holder.send(type="decline", chat=invite)
    again = await other.until(lambda f: f["type"] == "offer" and f["chat"]["id"] == invite, timeout=0.6)
    assert again["chat"]["offered_to"] == other_id  # well before the offer timeout
    await other.send(type="accept", chat=invite)
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active")
    chat = await served.chat.service.chat("demo", invite)
    assert (chat["agent"], chat["agents"]) == (other_id, [other_id])
