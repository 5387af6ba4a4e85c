"""Routing and capacity: never over an agent's limit, next agent on timeout, fallback when nobody is there."""

from __future__ import annotations

import asyncio

from tests.chat.conftest import Served


async def test_capacity_3__fourth_chat__never_offered(served: Served) -> None:
    _, token = await served.agent_token("Ada", max_chats=3)
    agent = await served.agent(token)
    for _ in range(3):
        visitor_id, invite = await served.invite()
        await served.visitor(visitor_id, invite)
        await agent.until(lambda f, invite=invite: f["type"] == "offer" and f["chat"]["id"] == invite)
        await agent.send(type="accept", chat=invite)
        await agent.until(lambda f, invite=invite: f["type"] == "chat" and f["chat"]["id"] == invite)
    visitor_id, fourth = await served.invite()
    fourth_visitor = await served.visitor(visitor_id, fourth)
    await agent.nothing(lambda f: f["type"] == "offer", seconds=1.2)
    # Nobody else could take it: the visitor hears so, and gets the offline form.
    assert (await fourth_visitor.until(lambda f: f["type"] == "state" and f["state"] == "missed"))
    assert (await served.chat.service.chat("demo", fourth))["state"] == "missed"


async def test_new_agent__default_limit_1__second_chat_goes_to_the_other_agent(served: Served) -> None:
    _, novice_token = await served.agent_token("Novice", new=True)
    novice = await served.agent(novice_token)
    visitor_id, first = await served.invite()
    await served.visitor(visitor_id, first)
    await novice.until(lambda f: f["type"] == "offer")
    await novice.send(type="accept", chat=first)
    await novice.until(lambda f: f["type"] == "chat")
    _, senior_token = await served.agent_token("Senior")
    senior = await served.agent(senior_token)
    visitor_id, second = await served.invite()
    await served.visitor(visitor_id, second)
    assert (await senior.until(lambda f: f["type"] == "offer"))["chat"]["id"] == second
    await novice.nothing(lambda f: f["type"] == "offer", seconds=0.3)


async def test_offer_not_accepted_in_time__moves_to_the_next_agent(served: Served) -> None:
    first_id, first_token = await served.agent_token("First")
    second_id, second_token = await served.agent_token("Second")
    first, second = await served.agent(first_token), await served.agent(second_token)
    # Equally loaded agents are tried in id order: the first one lets the offer lapse.
    holder, other = (first, second) if first_id < second_id else (second, first)
    visitor_id, invite = await served.invite()
    await served.visitor(visitor_id, invite)
    await holder.until(lambda f: f["type"] == "offer" and f["chat"]["id"] == invite)
    await other.nothing(lambda f: f["type"] == "offer", seconds=0.5)
    await holder.until(lambda f: f["type"] == "withdrawn" and f["chat"] == invite, 3)
    assert (await other.until(lambda f: f["type"] == "offer", 3))["chat"]["id"] == invite
    await holder.send(type="accept", chat=invite)  # too late: it is not theirs any more
    await holder.until(lambda f: f["type"] == "offer_gone")
    await other.send(type="accept", chat=invite)
    await other.until(lambda f: f["type"] == "chat")


async def test_only_agent_goes_offline__decisions_switch_to_fallback_within_2s(served: Served) -> None:
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    await served.wait_capacity(lambda c: len(c.agents) == 1)
    await agent.close()
    gone_after = await served.wait_capacity(lambda c: not c.agents, timeout=2.0)
    assert gone_after < 2.0


async def test_agent_away__not_offered__not_counted(served: Served) -> None:
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token, status="away")
    await asyncio.sleep(0.5)
    assert served.app.state.engine.decider.availability.capacity("demo").agents == []
    visitor_id, invite = await served.invite()
    await served.visitor(visitor_id, invite)
    await agent.nothing(lambda f: f["type"] == "offer", seconds=0.6)
    await agent.send(type="status", status="online")
    assert (await agent.until(lambda f: f["type"] == "offer"))["chat"]["id"] == invite
