"""Shared fixtures: stores (memory and a real Redis), apps, clocks."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis

from api.store import MemoryStore, RedisStore, Store
from api.store.redis import RedisClient
from loadtests.redis_cluster import RedisCluster, start_redis_cluster
from loadtests.redis_server import RedisNotAvailable, RedisServer, in_ci, start_redis

if TYPE_CHECKING:
    from tests.chat.test_webhooks import Receiver


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis only these tests use: ``TACTFUL_TEST_REDIS_URL``, or a throwaway redis-server.

    Without either, Redis tests fail in CI (CI=true) and are skipped elsewhere, saying why.
    """
    configured = os.environ.get("TACTFUL_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = throwaway_redis()
    try:
        yield server.url
    finally:
        server.stop()


def throwaway_redis(*args: str) -> RedisServer:
    """A redis-server of the tests' own (``args`` go on its command line); fails in CI (CI=true) and skips
    elsewhere when it cannot start, saying why."""
    try:
        return start_redis(*args)
    except RedisNotAvailable as error:
        if in_ci():
            pytest.fail(f"CI needs a real Redis: {error}")
        pytest.skip(str(error))


def throwaway_redis_cluster(replicas: int = 0, node_timeout_ms: int = 5000) -> RedisCluster:
    """Three masters from redis-server (``replicas`` each); fails in CI (CI=true) and skips elsewhere when they
    cannot start."""
    try:
        return start_redis_cluster(replicas, node_timeout_ms)
    except RedisNotAvailable as error:
        if in_ci():
            pytest.fail(f"CI needs a real Redis Cluster: {error}")
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """Any node of a Redis Cluster only these tests use: ``TACTFUL_TEST_REDIS_CLUSTER_URL``, or three
    throwaway masters started once per session. Fails in CI, skips elsewhere, when neither is possible.
    """
    configured = os.environ.get("TACTFUL_TEST_REDIS_CLUSTER_URL")
    if configured:
        yield configured
        return
    cluster = throwaway_redis_cluster()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def key_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def _delete_prefix(client: RedisClient, prefix: str) -> None:
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        await client.delete(key)


@pytest.fixture
async def redis_store(redis_client: aioredis.Redis, key_prefix: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_client, prefix=key_prefix, shards=4)
    yield store
    await _delete_prefix(redis_client, key_prefix)


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """Every contract test runs on both stores, and the Redis store also on a three-master Cluster."""
    if request.param == "memory":
        yield MemoryStore()
        return
    client: RedisClient
    if request.param == "redis-cluster":
        # Discover the slot map before the first commands: a fresh client's first commands racing each other
        # can fail in redis-py (the app's first store call is a lone one; some contract tests start with a burst).
        client = await aioredis.RedisCluster.from_url(request.getfixturevalue("redis_cluster_url")).initialize()
    else:
        client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = request.getfixturevalue("key_prefix")
    yield RedisStore(client, prefix=prefix, shards=4)
    await _delete_prefix(client, prefix)
    await client.aclose()


@pytest.fixture
def helpdesk() -> Iterator[Receiver]:
    """A helpdesk's webhook receiver on a free port that answers 200 and keeps what it got."""
    from tests.chat.test_webhooks import receiving  # a test module: imported when a test asks for it

    with receiving() as running:
        yield running
