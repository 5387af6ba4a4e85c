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
