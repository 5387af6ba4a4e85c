"""The chat bus on a real Redis Cluster: a worker hears every chat's events, whichever node each lands on."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from api.store.bus import RedisChatBus

pytestmark = pytest.mark.redis


async def test_bus__two_workers_on_a_cluster__each_hears_every_channel(redis_cluster_url: str, key_prefix: str) -> None:
    clients = [await aioredis.RedisCluster.from_url(redis_cluster_url).initialize() for _ in range(2)]
    buses = [RedisChatBus(client, key_prefix) for client in clients]
    channels = [f"chat:c{n}" for n in range(12)]  # their names hash to slots on all three masters
    nodes = {clients[0].get_node_from_key(f"{key_prefix}:bus:{channel}") for channel in channels}
    assert len({node.name for node in nodes if node is not None}) == 3
    try:
        for bus in buses:
            await bus.start()
        listening = buses[1].subscribe()
        listening.follow(*channels)

        for channel in channels:
            await buses[0].publish(channel, {"channel": channel})

        heard = [await asyncio.wait_for(listening.get(), 5.0) for _ in channels]
        assert sorted(heard) == sorted((channel, {"channel": channel}) for channel in channels)
    finally:
        for bus in buses:
            await bus.close()
        for client in clients:
            await client.aclose()
