"""The chat bus loses its Redis subscription: it subscribes again, and the chats followed catch up.

What was published while it was not listening is gone; each chat followed on the worker is told to read
its log again (a ``msg`` event), and a socket sends only what it has not sent yet, so nothing is lost
or doubled. Its own throwaway Redis: the test cuts pub/sub connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis

from api.store.bus import RedisChatBus
from loadtests.redis_server import RedisServer
from tests.conftest import throwaway_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = throwaway_redis()
    try:
        yield server
    finally:
        server.stop()


async def test_bus__subscription_cut__subscribes_again_and_followed_chats_read_their_logs(
    own_redis: RedisServer, key_prefix: str
) -> None:
    client = aioredis.Redis.from_url(own_redis.url)
    bus = RedisChatBus(client, key_prefix)
    await bus.start()
    try:
        chat, agent = bus.subscribe(), bus.subscribe()
        chat.follow("chat:demo:c1")
        agent.follow("agent:demo:a1")
        await bus.publish("chat:demo:c1", {"type": "msg", "id": 1})
        assert await asyncio.wait_for(chat.get(), 5) == ("chat:demo:c1", {"type": "msg", "id": 1})

        with redis.Redis(port=own_redis.port) as admin:
            assert admin.client_kill_filter(_type="pubsub") == 1  # the bus's one subscription, cut

        assert await asyncio.wait_for(chat.get(), 10) == ("chat:demo:c1", {"type": "msg"})  # catch up
        assert agent.queue.empty()  # only chats have logs to read
        await bus.publish("chat:demo:c1", {"type": "msg", "id": 2})
        assert await asyncio.wait_for(chat.get(), 5) == ("chat:demo:c1", {"type": "msg", "id": 2})
    finally:
        await bus.close()
        await client.aclose()
