"""Two workers on one Redis: the agent on one, the visitor on the other, and the chat still flows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chat.conftest import fast_settings, serve

pytestmark = pytest.mark.redis


async def test_two_workers__agent_and_visitor_on_different_workers__messages_both_ways(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    settings = fast_settings(tmp_path, redis_url=redis_url, redis_prefix=key_prefix, redis_shards=4)
    async with serve(settings) as one, serve(settings) as two:
        _, token = await one.agent_token("Ada")
        agent = await one.agent(token)
        await two.wait_capacity(lambda c: len(c.agents) == 1)  # worker two's decisions see worker one's agent
        visitor_id, invite = await two.invite()
        visitor = await two.visitor(visitor_id, invite)
        await agent.until(lambda f: f["type"] == "offer" and f["chat"]["id"] == invite)
        await agent.send(type="accept", chat=invite)
        await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active")
        await visitor.send(type="msg", cid="c_1", text="hello from worker two")
        assert (await agent.until(lambda f: f["type"] == "msg" and f["from"] == "visitor"))[
            "text"
        ] == "hello from worker two"
        await agent.send(type="msg", chat=invite, cid="a_1", text="hello from worker one")
        assert (await visitor.until(lambda f: f["type"] == "msg" and f["from"] == "agent"))[
            "text"
        ] == "hello from worker one"


async def test_two_workers__visitor_next_page_on_the_other_worker__chat_holds_then_ends_when_they_leave(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    settings = fast_settings(
        tmp_path, redis_url=redis_url, redis_prefix=key_prefix, redis_shards=4, visitor_grace_s=1.5
    )
    async with serve(settings) as one, serve(settings) as two:
        _, token = await one.agent_token("Ada")
        agent = await one.agent(token)
        await two.wait_capacity(lambda c: len(c.agents) == 1)
        visitor_id, invite = await one.invite()
        first_page = await one.visitor(visitor_id, invite)
        await agent.until(lambda f: f["type"] == "offer" and f["chat"]["id"] == invite)
        await agent.send(type="accept", chat=invite)
        await first_page.until(lambda f: f["type"] == "state" and f["state"] == "active")
        await first_page.send(type="msg", cid="c_1", text="on the first page")
        await agent.until(lambda f: f["type"] == "msg" and f.get("text") == "on the first page")
        await first_page.close()  # the visitor clicks a link; the next page's socket lands on worker two
        await agent.until(lambda f: f["type"] == "visitor" and f["online"] is False)
        next_page = await two.visitor(visitor_id, invite)
        replayed = await next_page.until(lambda f: f["type"] == "msg" and f.get("text") == "on the first page")
        assert replayed["from"] == "visitor"
        await agent.until(lambda f: f["type"] == "visitor" and f["online"] is True)
        await agent.send(type="msg", chat=invite, cid="a_1", text="still with you")
        await next_page.until(lambda f: f["type"] == "msg" and f.get("text") == "still with you")
        assert (await two.chat.service.chat("demo", invite))["state"] == "active"

        await next_page.close()  # and now off the site
        await agent.until(lambda f: f["type"] == "ended" and f["chat"] == invite, timeout=6)
        chat = await one.chat.service.chat("demo", invite)
        assert (chat["state"], chat["ended_by"], chat["end_reason"]) == ("ended", "visitor", "left")
        assert await one.store.bounded_add("demo", f"load:{chat['agent']}", 0) == 0
