"""What only the Redis store has to prove: one round trip, Cluster-safe keys, bounded memory, outages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from api.meter import CountingMeter
from api.store import RedisStore, StoreUnavailable
from api.store.autopipeline import AutoPipeline
from api.store.redis import _COLLECT_LUA, _metered
from loadtests.redis_server import RedisServer, free_port, start_redis
from tests.factories import T0, ev, page, prepared

pytestmark = pytest.mark.redis

TEN_EVENTS = [
    page(T0, "/checkout"),
    *[ev("click", T0 + i * 100, x=i, y=i) for i in range(1, 8)],
    ev("form_error", T0 + 900, field="zip"),
    ev("rage_click", T0 + 950, count=3),
]


def _round_trips(meter: CountingMeter) -> int:
    """Writes to Redis the meter heard of: a script call, a pipeline or an auto-pipelined group is one."""
    return sum(meter.round_trips.values())


async def _commandstats(client: aioredis.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def test_collect__steady_state__one_round_trip_per_request(redis_url: str, key_prefix: str) -> None:
    observer = aioredis.Redis.from_url(redis_url)
    meter = CountingMeter()
    store = RedisStore(aioredis.Redis.from_url(redis_url), prefix=key_prefix, shards=4, meter=meter)
    await store.ingest(prepared(TEN_EVENTS, visitor="v_warmup01"))  # loads the script once

    before = await _commandstats(observer)
    trips = _round_trips(meter)
    for i in range(20):
        await store.ingest(prepared(TEN_EVENTS, visitor=f"v_roundtrip{i:03d}"))
    trips = _round_trips(meter) - trips
    after = await _commandstats(observer)

    await store.close()
    await observer.aclose()
    assert trips == 20
    # commandstats also counts what the script calls inside Redis; the client sent only EVALSHA.
    assert after["evalsha"] - before.get("evalsha", 0) == 20
    assert after.get("script", 0) == before.get("script", 0)


async def test_collect__retry_merged_with_new_events__second_call_with_each_events_ops(
    redis_url: str, key_prefix: str
) -> None:
    """The usual call leaves each event's own ops out; a batch mixing seen and new events costs a second."""
    meter = CountingMeter()
    store = RedisStore(aioredis.Redis.from_url(redis_url), prefix=key_prefix, shards=4, meter=meter)
    await store.ingest(prepared(TEN_EVENTS[:4], visitor="v_mixed0001"))

    trips = _round_trips(meter)
    result = await store.ingest(prepared(TEN_EVENTS, visitor="v_mixed0001"))
    trips = _round_trips(meter) - trips
    session, _ = await store.load_visitor("demo", "v_mixed0001")
    await store.close()

    assert trips == 2
    assert result.fresh == tuple(range(4, 10)) and result.duplicates == 4
    assert session["ck"] == "7" and session["fe"] == "1"  # every click counted once, the retried ones too


async def test_collect__every_key_of_a_visitor_in_one_cluster_slot(redis_store: RedisStore) -> None:
    from redis.crc import key_slot

    await redis_store.ingest(prepared(TEN_EVENTS, visitor="v_slotcheck1"))
    keys = [key async for key in redis_store.client.scan_iter(match=f"{redis_store.prefix}:*")]

    assert len(keys) == 5  # session (with its dedup ring), visitor, log, counters, log clock
    assert len({key_slot(key) for key in keys}) == 1


async def test_collect__busy_session__visitor_state_stays_under_one_kib(redis_store: RedisStore) -> None:
    paths = ["/", "/products/1", "/products/2", "/cart", "/checkout", "/help", "/search"]
    for b in range(25):  # 250 events, every struggle signal: a long, busy session
        start = T0 + b * 10_000
        batch = [page(start, paths[b % len(paths)], vw=1280, ref="https://www.example.org/")]
        batch += [ev("click", start + i * 500, x=i, y=i) for i in range(1, 6)]
        batch += [
            ev("rage_click", start + 3000, count=4),
            ev("form_error", start + 3500, field=f"f{b % 5}"),
            ev("scroll", start + 4000, depth=0.5, reversals=1),
            ev("custom", start + 4500, name="x"),
        ]
        await redis_store.ingest(prepared(batch, visitor="v_busy0001"))

    client = redis_store.client
    session_key, visitor_key = redis_store._visitor_keys("demo", "v_busy0001")
    sizes = [int(await client.memory_usage(key) or 0) for key in (session_key, visitor_key)]

    assert sum(sizes) < 1024, sizes
    assert await client.object("encoding", session_key) == b"listpack"
    ring = await client.hmget(session_key, "f1", "f2", "f3", "f4")
    assert sum(len(chunk or b"") for chunk in ring) == 64 * 4  # the dedup window is bounded


async def test_collect__redis_down__store_unavailable_and_nothing_half_written(key_prefix: str) -> None:
    store = RedisStore(
        aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5), prefix=key_prefix
    )

    try:
        with pytest.raises(StoreUnavailable):
            await store.ingest(prepared(TEN_EVENTS))
        with pytest.raises(StoreUnavailable):
            await store.ping()
    finally:
        await store.close()


def test_collect_script__reads_no_key_it_is_not_given() -> None:
    """Cluster safety: every key the script touches comes from KEYS, never built inside Lua."""
    body = "\n".join(line for line in _COLLECT_LUA.splitlines() if not line.strip().startswith("--"))
    assert "KEYS[" in body and ".. ':'" not in body and "..':'" not in body


async def test_collect__concurrent_requests__share_round_trips_and_each_gets_its_own_state(
    redis_url: str, key_prefix: str
) -> None:
    import asyncio

    observer = aioredis.Redis.from_url(redis_url)
    meter = CountingMeter()
    store = RedisStore(aioredis.Redis.from_url(redis_url), prefix=key_prefix, shards=4, meter=meter)
    await store.ingest(prepared(TEN_EVENTS, visitor="v_warm00001"))  # opens the collect connection

    trips = _round_trips(meter)
    before = await _commandstats(observer)
    results = await asyncio.gather(
        *(store.ingest(prepared(TEN_EVENTS[: 1 + i % 10], visitor=f"v_together{i:03d}")) for i in range(40))
    )
    trips = _round_trips(meter) - trips
    after = await _commandstats(observer)
    states = [await store.load_visitor("demo", f"v_together{i:03d}") for i in range(40)]
    await store.close()
    await observer.aclose()

    assert trips == 2  # the first of 40 collects goes at once, the other 39 together in the next write
    assert after["evalsha"] - before.get("evalsha", 0) == 40  # still one script call per collect
    for i, (result, (session, _)) in enumerate(zip(results, states, strict=True)):
        assert len(result.fresh) == 1 + i % 10 and result.session == session
        assert session["pv"] == "1"


async def test_auto_pipeline__one_failing_call__fails_alone(redis_client: aioredis.Redis) -> None:
    import asyncio

    script = redis_client.register_script(
        "if ARGV[1] == 'bad' then return redis.error_reply('refused ' .. ARGV[1]) end return ARGV[1]"
    )
    await script(keys=[], args=["load"])
    pipeline = AutoPipeline(redis_client, script)

    outcomes = await asyncio.gather(
        *(pipeline([], ["bad" if i == 4 else f"ok{i}"]) for i in range(7)), return_exceptions=True
    )
    await pipeline.close()

    assert [o if isinstance(o, bytes) else type(o).__name__ for o in outcomes] == [
        b"ok0",
        b"ok1",
        b"ok2",
        b"ok3",
        "ResponseError",
        b"ok5",
        b"ok6",
    ]
    assert "refused bad" in str(outcomes[4])


@pytest.fixture
async def own_redis() -> AsyncIterator[tuple[RedisServer, aioredis.Redis]]:
    """A redis-server of the test's own, and a client of it: for flushing, stalling or killing it."""
    server = start_redis()
    client = aioredis.Redis.from_url(server.url)
    try:
        yield server, client
    finally:
        await client.aclose()
        server.stop()


async def test_auto_pipeline__script_cache_flushed__reloads_and_answers(
    own_redis: tuple[RedisServer, aioredis.Redis],
) -> None:
    import asyncio

    _, client = own_redis
    pipeline = AutoPipeline(client, client.register_script("return 'pong-' .. ARGV[1]"))
    assert await pipeline([], ["1"]) == b"pong-1"
    await client.script_flush()
    assert list(await asyncio.gather(pipeline([], ["2"]), pipeline([], ["3"]))) == [b"pong-2", b"pong-3"]
    await pipeline.close()


BUSY_SCRIPT = """
local start = redis.call('TIME')
while true do
  local now = redis.call('TIME')
  if (now[1] - start[1]) * 1000000 + (now[2] - start[2]) > tonumber(ARGV[1]) * 1000 then return 'done' end
end
"""
"""Keeps Redis busy for ARGV[1] ms: a server that has stopped answering, for as long as the test needs."""


async def test_auto_pipeline__redis_stops_answering__waiting_calls_time_out_then_it_recovers(
    own_redis: tuple[RedisServer, aioredis.Redis],
) -> None:
    import asyncio
    import time

    from redis.exceptions import TimeoutError as RedisTimeout

    _, client = own_redis
    pipeline = AutoPipeline(client, client.register_script(BUSY_SCRIPT), timeout_s=0.3)
    assert await pipeline([], ["0"]) == b"done"

    started = time.monotonic()
    outcomes = await asyncio.gather(pipeline([], ["1500"]), pipeline([], ["0"]), return_exceptions=True)
    waited = time.monotonic() - started

    assert [type(o) for o in outcomes] == [RedisTimeout, RedisTimeout]
    assert waited < 1.2  # given up after the timeout (a check every 0.3 s), not after the 1.5 s stall
    await asyncio.sleep(1.5)  # the stall ends
    assert await pipeline([], ["0"]) == b"done"  # on a new connection
    await pipeline.close()


async def test_auto_pipeline__connection_dropped__calls_on_their_way_fail_and_the_next_reconnects(
    own_redis: tuple[RedisServer, aioredis.Redis],
) -> None:
    import asyncio

    from redis.exceptions import ConnectionError as RedisConnectionError

    server, client = own_redis
    pipeline = AutoPipeline(client, client.register_script(BUSY_SCRIPT))
    assert await pipeline([], ["0"]) == b"done"

    waiting = asyncio.ensure_future(pipeline([], ["500"]))
    await asyncio.sleep(0.1)  # on its way: Redis is running it
    assert server.process is not None
    server.process.kill()  # the host is gone: no answer, and the connection drops

    with pytest.raises(RedisConnectionError):
        await waiting
    server.stop()
    server.start()  # the same port
    assert await pipeline([], ["0"]) == b"done"
    await pipeline.close()


async def test_auto_pipeline__unasked_push_messages__every_caller_still_gets_its_own_answer(
    own_redis: tuple[RedisServer, aioredis.Redis],
) -> None:
    """RESP3 lets Redis send news nobody asked for (here key invalidations, redirected to the collect
    connection; on managed Redis, maintenance notices): they are no call's answer."""
    import asyncio

    server, client = own_redis
    pipeline = AutoPipeline(client, client.register_script(BUSY_SCRIPT.replace("'done'", "ARGV[2]")))
    assert await pipeline([], ["0", "first"]) == b"first"
    link = pipeline._link
    tracked = aioredis.Redis.from_url(server.url, single_connection_client=True)
    hog = aioredis.Redis.from_url(server.url, single_connection_client=True)
    # The collect connection's last command was its script call (EVAL: the fresh server knew no script).
    collect_id = next(entry["id"] for entry in await client.client_list() if entry["cmd"] in ("eval", "evalsha"))
    await tracked.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", collect_id)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated

    for round_ in range(3):
        await tracked.get("k")  # tracked: the next write to k sends the collect connection an invalidation
        busy = asyncio.ensure_future(hog.eval(BUSY_SCRIPT, 0, "200"))
        await asyncio.sleep(0.05)  # Redis is busy: what follows queues up and runs together
        write = asyncio.ensure_future(tracked.set("k", str(round_)))
        await asyncio.sleep(0.02)
        answers = await asyncio.gather(*(pipeline([], ["0", f"visitor{i}"]) for i in range(3)))
        await busy
        await write
        assert answers == [b"visitor0", b"visitor1", b"visitor2"]
    await asyncio.sleep(0.05)  # the last invalidation arrives with nothing waiting
    assert await pipeline([], ["0", "last"]) == b"last"
    assert pipeline._link is link  # the news never broke the connection
    await pipeline.close()
    await tracked.aclose()
    await hog.aclose()


async def test_auto_pipeline__write_refused__the_call_fails_instead_of_waiting_forever(
    redis_client: aioredis.Redis,
) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    pipeline = AutoPipeline(redis_client, redis_client.register_script("return ARGV[1]"))
    assert await pipeline([], ["up"]) == b"up"
    link = pipeline._link
    assert link is not None and link.transport is not None

    class Refusing:
        def writelines(self, chunks: list[bytes]) -> None:
            raise RuntimeError("unable to perform operation on a closed transport")

        def abort(self) -> None:
            pass

    real, link.transport = link.transport, Refusing()  # type: ignore[assignment]
    with pytest.raises(RedisConnectionError, match="writing to Redis failed"):
        await pipeline([], ["lost?"])
    real.abort()
    assert await pipeline([], ["again"]) == b"again"  # on a new connection
    await pipeline.close()


async def test_auto_pipeline__closed_while_opening__callers_see_an_outage_not_a_cancel(
    redis_url: str, key_prefix: str
) -> None:
    import asyncio

    store = RedisStore(aioredis.Redis.from_url(redis_url), prefix=key_prefix, shards=4)
    calls = [asyncio.ensure_future(store.ingest(prepared(TEN_EVENTS, visitor=f"v_closing{i:03d}"))) for i in range(3)]
    await asyncio.sleep(0)  # they are waiting for the connection to open
    await store.close()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert [type(o) for o in outcomes] == [StoreUnavailable] * 3
    with pytest.raises(StoreUnavailable):
        await store.ingest(prepared(TEN_EVENTS, visitor="v_afterclose"))


async def test_collect__redis_gone__every_waiting_call_fails_with_store_unavailable() -> None:
    import asyncio

    port = free_port()
    store = RedisStore(
        aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5), prefix="gone", shards=4
    )

    outcomes = await asyncio.gather(
        *(store.ingest(prepared(TEN_EVENTS, visitor=f"v_nobody{i:04d}")) for i in range(5)), return_exceptions=True
    )
    await store.close()

    assert [type(o) for o in outcomes] == [StoreUnavailable] * 5


@pytest.mark.parametrize(
    "args",
    [
        ("EVALSHA", "a" * 40, 2, "tf:{demo:03}:s:v1", "tf:{demo:03}:v:v1", 1_764_000_000_000, b"\x00\xff\x10", "é"),
        ("CONFIG GET", "maxmemory"),  # a two-word name is split, as redis-py does
        (b"SET", memoryview(b"ab"), bytearray(b"cd")),
        ("ZADD", "k", 1.5, "m", 10**30, -3),
    ],
    ids=["script-call", "two-word-name", "buffers", "numbers"],
)
def test_store_connections__hiredis_packer__same_bytes_as_redis_py(args: tuple[Any, ...]) -> None:
    ours, theirs = _metered(Connection, CountingMeter())(), Connection()

    assert b"".join(ours.pack_command(*args)) == b"".join(theirs.pack_command(*args))
    with pytest.raises(DataError):
        ours.pack_command("SET", "k", None)
