"""A chat message is acknowledged once a replica has it (TACTFUL_REDIS_WAIT_REPLICAS, 1), on a real primary and replica.

Redis replicates asynchronously: a master that dies just after answering can take a message with it,
and its replica, promoted, would hand the message's id to the next one. With ``wait_replicas`` the
store answers ``append_entry`` only once the replica confirmed it (or after the wait), so the sender
keeps it pending (and resends it, stored once) until then.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis

from api.store import RedisStore
from loadtests.redis_server import RedisServer
from tests.conftest import throwaway_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[RedisServer, RedisServer]]:
    primary = throwaway_redis()
    try:
        servers = [primary, throwaway_redis("--replicaof", "127.0.0.1", str(primary.port))]
    except BaseException:  # the replica could not start (pytest's fail and skip are BaseExceptions)
        primary.stop()
        raise
    deadline = time.monotonic() + 10
    with redis.Redis(port=servers[1].port) as replica:
        while replica.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "the replica never synced"
            time.sleep(0.05)
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


class Stopped:
    """The replica's process stopped (SIGSTOP) until the block ends: it takes in nothing meanwhile."""

    def __init__(self, server: RedisServer) -> None:
        assert server.process is not None
        self.pid = server.process.pid

    def __enter__(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def __exit__(self, *_: object) -> None:
        os.kill(self.pid, signal.SIGCONT)


def _stored(server: RedisServer, key: str) -> int:
    with redis.Redis(port=server.port, socket_timeout=2) as client:
        return int(client.llen(key))


async def test_append_entry__replica_stopped__answered_only_once_the_replica_has_it(
    primary_and_replica: tuple[RedisServer, RedisServer], key_prefix: str
) -> None:
    primary, replica = primary_and_replica
    store = RedisStore(aioredis.Redis.from_url(primary.url), prefix=key_prefix, replica_wait_ms=5000)
    key = f"{key_prefix}:{{demo}}:l:m:c1"
    try:
        assert await store.append_entry("demo", "m:c1", {"text": "one"}, dedup="visitor:m1") == (1, False)
        assert _stored(replica, key) == 1  # answered after the replica had it, not merely sent it on
        with Stopped(replica):
            second = asyncio.create_task(store.append_entry("demo", "m:c1", {"text": "two"}, dedup="visitor:m2"))
            await asyncio.sleep(0.6)
            assert not second.done(), "acknowledged while only the master had it"
            assert _stored(primary, key) == 2
        assert await asyncio.wait_for(second, 3) == (2, False)
        assert _stored(replica, key) == 2
    finally:
        await store.close()


async def test_append_entry__replica_gone_past_the_wait__answered_anyway_and_said(
    primary_and_replica: tuple[RedisServer, RedisServer], key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A replica down must not stop the chat: the message is acknowledged after the wait, with a warning."""
    primary, replica = primary_and_replica
    store = RedisStore(aioredis.Redis.from_url(primary.url), prefix=key_prefix, replica_wait_ms=300)
    try:
        with Stopped(replica), caplog.at_level(logging.WARNING, "tactful.store.redis"):
            started = time.monotonic()
            assert await store.append_entry("demo", "m:c1", {"text": "one"}, dedup="visitor:m1") == (1, False)
            assert 0.25 <= time.monotonic() - started < 2.0
        assert "reached 0 of 1 replicas" in caplog.text
    finally:
        await store.close()


async def test_append_entry__no_wait_asked__answered_without_the_replica(
    primary_and_replica: tuple[RedisServer, RedisServer], key_prefix: str
) -> None:
    """TACTFUL_REDIS_WAIT_REPLICAS=0: the master's answer is the acknowledgement."""
    primary, replica = primary_and_replica
    store = RedisStore(aioredis.Redis.from_url(primary.url), prefix=key_prefix, wait_replicas=0)
    try:
        with Stopped(replica):  # it can take in nothing: the answer is the master's alone
            assert await asyncio.wait_for(store.append_entry("demo", "m:c1", {"text": "one"}), 1) == (1, False)
    finally:
        await store.close()


async def test_append_entry__master_without_replicas__answered_at_once(redis_url: str, key_prefix: str) -> None:
    """The default asks for one replica; a Redis that has none is not waited on."""
    store = RedisStore(aioredis.Redis.from_url(redis_url), prefix=key_prefix)
    try:
        started = time.monotonic()
        for n in range(5):
            await store.append_entry("demo", "m:c1", {"text": str(n)}, dedup=f"visitor:m{n}")
        assert time.monotonic() - started < 0.5
    finally:
        async for key in store.client.scan_iter(match=f"{key_prefix}:*"):
            await store.client.delete(key)
        await store.close()
