"""On a real three-master Redis Cluster: a collect stays in one slot, a site's visitors spread over every master.

The store contract suites also run on the Cluster (the ``redis-cluster`` param of the ``store`` fixture);
these tests prove what only a Cluster can show: where the keys land and what goes over the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, ResponseError

from api.store import RedisStore, StoreUnavailable
from api.store.base import shard_of
from loadtests.redis_server import free_port
from tests.conftest import throwaway_redis_cluster
from tests.factories import T0, ev, page, prepared
from tracker.days import day_of

pytestmark = pytest.mark.redis

TEN_EVENTS = [
    page(T0, "/checkout"),
    *[ev("click", T0 + i * 100, x=i, y=i) for i in range(1, 8)],
    ev("form_error", T0 + 900, field="zip"),
    ev("rage_click", T0 + 950, count=3),
]


@pytest.fixture
async def cluster_store(redis_cluster_url: str, key_prefix: str) -> AsyncIterator[RedisStore]:
    store = RedisStore.from_url(redis_cluster_url, cluster=True, prefix=key_prefix)  # 16 shards, as deployed
    yield store
    async for key in store.client.scan_iter(match=f"{key_prefix}:*", count=1000):
        await store.client.delete(key)
    await store.close()


async def _keys_by_node(store: RedisStore) -> dict[str, list[bytes]]:
    """Which master physically holds each of the store's keys (scanned node by node, not routed)."""
    assert isinstance(store.client, aioredis.RedisCluster)
    held: dict[str, list[bytes]] = {}
    for node in store.client.get_primaries():
        async with aioredis.Redis(host=node.host, port=int(node.port)) as direct:
            keys = [key async for key in direct.scan_iter(match=f"{store.prefix}:*", count=1000)]
        if keys:
            held[node.name] = keys
    return held


async def test_collect__on_a_cluster__every_key_it_writes_in_the_visitor_shard_slot(cluster_store: RedisStore) -> None:
    await cluster_store.ingest(prepared(TEN_EVENTS, visitor="v_slotcheck1"))

    held = await _keys_by_node(cluster_store)

    keys = [key for node_keys in held.values() for key in node_keys]
    assert len(keys) == 5  # session (with its dedup ring), visitor, log, log clock, counters
    shard_tag = f"demo:{shard_of('v_slotcheck1', cluster_store.shards):02d}"
    assert {key_slot(key) for key in keys} == {key_slot(shard_tag.encode())}
    assert len(held) == 1


async def test_collect__a_sites_visitors__spread_over_every_master_and_read_back_whole(
    cluster_store: RedisStore,
) -> None:
    visitors = [f"v_spread{n:04d}" for n in range(40)]
    for visitor in visitors:
        await cluster_store.ingest(prepared(TEN_EVENTS, visitor=visitor))

    held = await _keys_by_node(cluster_store)

    assert len(held) == 3, {node: len(keys) for node, keys in held.items()}
    # The site-wide reads fan out over the shards, on every node, in one non-transactional pipeline.
    assert {entry.visitor for entry in await cluster_store.read_log("demo")} == set(visitors)
    counters = await cluster_store.counters("demo", day_of(T0))
    assert counters["sessions"] == len(visitors) and counters["e.click"] == 7 * len(visitors)


async def test_collect__on_a_cluster__one_request_per_collect(
    cluster_store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sends: list[str] = []
    send = Connection.send_packed_command

    async def counting(connection: Connection, command: Any, check_health: bool = True) -> None:
        sends.append(f"{connection.host}:{connection.port}")
        await send(connection, command, check_health)

    for shard in range(cluster_store.shards):  # the script loaded on every node, a connection to each
        visitor = next(f"v_warm{n:06d}" for n in range(10**6) if shard_of(f"v_warm{n:06d}", 16) == shard)
        await cluster_store.ingest(prepared(TEN_EVENTS, visitor=visitor))
    monkeypatch.setattr(Connection, "send_packed_command", counting)

    for n in range(20):
        await cluster_store.ingest(prepared(TEN_EVENTS, visitor=f"v_roundtrip{n:03d}"))

    assert len(sends) == 20  # one EVALSHA each, straight to the node that owns the visitor's slot
    assert len(set(sends)) == 3


async def test_cluster_fixture__refuses_a_script_across_slots(cluster_store: RedisStore) -> None:
    """The Cluster under test enforces slots, so the contract suites passing on it mean something."""
    with pytest.raises((RedisClusterException, ResponseError)):
        await cluster_store.client.eval("return 1", 2, "{demo:00}:a", "{demo:01}:b")


@pytest.mark.slow
async def test_collect__one_master_down__its_visitors_unavailable_the_others_served(key_prefix: str) -> None:
    cluster = throwaway_redis_cluster()  # its own: this test stops a node
    store = RedisStore.from_url(cluster.url, cluster=True, prefix=key_prefix)
    try:
        visitors = [f"v_outage{n:04d}" for n in range(24)]
        for visitor in visitors:
            await store.ingest(prepared(TEN_EVENTS, visitor=visitor))
        assert isinstance(store.client, aioredis.RedisCluster)
        down = cluster.nodes[1]
        owners = {
            visitor: store.client.get_node_from_key(store._visitor_keys("demo", visitor)[0]) for visitor in visitors
        }
        on_down_node = {visitor for visitor, node in owners.items() if node is not None and node.port == down.port}
        down.stop()

        served, unavailable = set(), set()
        for visitor in visitors:
            try:
                await store.ingest(prepared([page(T0 + 5000, "/help")], visitor=visitor))
                served.add(visitor)
            except StoreUnavailable:  # the API answers 503 with Retry-After: the tracker keeps the batch
                unavailable.add(visitor)

        assert on_down_node and unavailable == on_down_node and served == set(visitors) - on_down_node
    finally:
        await store.close()
        cluster.stop()


async def test_store__no_cluster_node_reachable__store_unavailable(key_prefix: str) -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", cluster=True, prefix=key_prefix)
    try:
        with pytest.raises(StoreUnavailable):
            await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.ingest(prepared(TEN_EVENTS))
    finally:
        await store.close()
