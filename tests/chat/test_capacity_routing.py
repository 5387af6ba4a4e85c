"""Routing and capacity: never over an agent's limit, next agent on timeout, fallback when nobody is there."""

from __future__ import annotations

import asyncio

from api import Settings
from api.store import Store
from tests.chat.conftest import Served, serve
from tracker.days import day_of


async def test_capacity_3__fourth_chat__never_offered(served: Served) -> None:
    _, token = await served.agent_token("Ada", max_chats=3)
    agent = await served.agent(token)
    for _ in range(3):
        await served.taken(agent)
    visitor_id, fourth = await served.invite()
    fourth_visitor = await served.visitor(visitor_id, fourth)
    await agent.nothing(lambda f: f["type"] == "offer", seconds=1.2)
    # Nobody else could take it: the visitor hears so, and gets the offline form.
    assert await fourth_visitor.until(lambda f: f["type"] == "state" and f["state"] == "missed")
    assert (await served.chat.service.chat("demo", fourth))["state"] == "missed"


async def test_new_agent__default_limit_1__second_chat_goes_to_the_other_agent(served: Served) -> None:
    _, novice_token = await served.agent_token("Novice", new=True)
    novice = await served.agent(novice_token)
    await served.taken(novice)
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


async def _counters(served: Served) -> dict[str, int]:
    store: Store = served.store
    return await store.counters("demo", day_of(served.app.state.engine.now_ms()))


async def test_accept__every_agent_gone_since_the_invitation__the_sites_fallback_at_once(served: Served) -> None:
    """Issue #18: no visitor accepts into a void. The demo's no-capacity fallback is its bot: quick answers
    without "Talk to a person", and the leave-a-message form; the chat is stored as missed by nobody."""
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    visitor_id, invite = await served.invite()  # made while Ada was online
    await agent.close()
    await served.wait_capacity(lambda c: not c.agents)

    visitor = await served.visitor(visitor_id, invite)

    first = await visitor.next(timeout=3)  # the very first state: not "waiting" for nobody
    assert first["type"] == "state" and first["state"] == "missed", first
    fallback = first["fallback"]
    assert fallback["mode"] == "bot" and fallback["leave_message"] is True
    labels = {item["label"] for item in fallback["menu"]["items"]}
    assert "Payment problems" in labels and "Talk to a person" not in labels
    apology = await visitor.until(lambda f: f["type"] == "msg" and f["from"] == "system")
    assert apology["text"] == fallback["message"]
    chat = await served.chat.service.chat("demo", invite)
    assert (chat["state"], chat["ended_by"], chat["fallback"]) == ("missed", "nobody", fallback)
    counts = await _counters(served)
    assert (counts.get("chats_requested"), counts.get("chats_missed"), counts.get("chats_started")) == (1, 1, None)


async def test_accept__offline_fallback_configured__the_offline_message(served: Served) -> None:
    engine = served.app.state.engine
    config = engine.sites.get("demo")
    fallback = config.fallback.model_copy(update={"when_no_capacity": "offline"})
    await engine.sites.put(config.model_copy(update={"fallback": fallback, "version": config.version + 1}))
    visitor_id, invite = await served.invite()

    visitor = await served.visitor(visitor_id, invite)

    first = await visitor.next(timeout=3)
    assert first["state"] == "missed"
    assert first["fallback"]["mode"] == "offline" and first["fallback"]["menu"] is None
    assert first["fallback"]["message"] == config.fallback.offline.message


async def test_waiting__last_console_closes__fallback_after_the_grace_not_the_queue_wait(
    chat_settings: Settings,
) -> None:
    """An away agent keeps the chat waiting (they may come back); once no console is open for the grace a
    reconnecting console has, the visitor gets the fallback rather than the rest of a 30 s queue."""
    # A presence that outlives a slow heartbeat: only closing the console may make the agent gone here.
    patient = chat_settings.model_copy(update={"chat_queue_wait_s": 30.0, "agent_presence_ttl_s": 4.0})
    async with serve(patient) as served:
        _, token = await served.agent_token("Ada")
        agent = await served.agent(token, status="away")
        visitor_id, invite = await served.invite()
        visitor = await served.visitor(visitor_id, invite)
        assert (await visitor.until(lambda f: f["type"] == "state"))["state"] == "waiting"
        # Away is not gone: the chat waits (and the visitor hears how long), it is not given up.
        await visitor.nothing(lambda f: f["type"] == "state" and f["state"] != "waiting", seconds=1.0)

        await agent.close()
        closed = asyncio.get_running_loop().time()
        missed = await visitor.until(lambda f: f["type"] == "state" and f["state"] == "missed", timeout=5)

        waited = asyncio.get_running_loop().time() - closed
        assert chat_settings.agent_grace_s <= waited < 3.0, waited
        assert missed["fallback"]["mode"] == "bot"
