"""The learner restarted mid-stream learns each label once; a failing collect script writes nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from api.learning.learner import Learner
from api.store import MemoryStore, RedisStore, Store
from tests.factories import T0, page, prepared
from tracker.merge import Op

INVITES = 6


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def any_store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = request.getfixturevalue("key_prefix")
    yield RedisStore(client, prefix=prefix, shards=2)
    async for key in client.scan_iter(match=f"{prefix}:*"):
        await client.delete(key)
    await client.aclose()


async def labels(store: Store) -> None:
    """INVITES invitations, each shown, then accepted (even) or dismissed (odd)."""
    for n in range(INVITES):
        invite, ts = f"i_restart{n:04d}", T0 + n * 1000
        await store.append_labels(
            "demo",
            [
                {
                    "k": "decision",
                    "invite": invite,
                    "features": {"form_errors": float(n % 3)},
                    "score": 0.6,
                    "model_version": 0,
                    "propensity": 1.0,
                    "ts": ts,
                },
                {"k": "shown", "invite": invite, "ts": ts + 100},
                {"k": "accepted" if n % 2 == 0 else "dismissed", "invite": invite, "ts": ts + 200},
            ],
        )


async def test_learner__dropped_before_commit__next_one_learns_each_label_exactly_once(any_store: Store) -> None:
    await labels(any_store)
    crashed = Learner(any_store, "demo", commit_every_s=3600, clock=lambda: T0 / 1000)
    await crashed.start()
    await crashed.step(block_ms=0)
    assert crashed.state.scorer.n_learned == INVITES  # it learned... and dies before committing
    del crashed

    resumed = Learner(any_store, "demo", commit_every_s=0, clock=lambda: T0 / 1000)
    await resumed.start()  # redoes what was handed out and never committed
    await resumed.step(block_ms=0)
    await resumed.commit()
    assert resumed.state.scorer.n_learned == INVITES
    committed = await any_store.get_model("demo")
    assert committed is not None
    assert committed[2]["labels"]["by_outcome"]["accepted"] == INVITES // 2
    assert committed[2]["labels"]["by_outcome"]["dismissed"] == INVITES // 2

    again = Learner(any_store, "demo", commit_every_s=0, clock=lambda: T0 / 1000)
    await again.start()  # after a clean commit there is nothing to redo
    await again.step(block_ms=0)
    assert again.state.scorer.n_learned == INVITES
    assert await any_store.read_labels("demo", 100, 0, pending=True) == []


@pytest.mark.redis
@pytest.mark.parametrize("with_duplicate", [False, True], ids=["folded-ops", "event-by-event"])
async def test_collect_script__an_op_fails_midway__visitor_state_and_log_unchanged(
    redis_client: aioredis.Redis, key_prefix: str, with_duplicate: bool
) -> None:
    """A Redis script is atomic against other clients but not rolled back on error: collect.lua changes
    records in Lua tables and writes them only after every op applied, so an error leaves nothing.
    On both of its paths: the batch's folded ops, and event by event when one event is a duplicate."""
    store = RedisStore(redis_client, prefix=key_prefix, shards=2)
    first = page(T0, "/a")
    await store.ingest(prepared([first], visitor="v_atomic0001"))
    before = await store.load_visitor("demo", "v_atomic0001")
    log_before = len(await store.read_log("demo"))

    events = [page(T0 + 1000, "/b"), page(T0 + 2000, "/c")]
    good = prepared([first, *events] if with_duplicate else events, visitor="v_atomic0001")
    bad_op = Op("s", "zz", "?", "1")  # type: ignore[arg-type]  # a merge kind the Lua script does not know
    last = good.events[-1]
    broken = dataclasses.replace(
        good, ops=[*good.ops, bad_op], events=(*good.events[:-1], dataclasses.replace(last, ops=(*last.ops, bad_op)))
    )
    with pytest.raises(ResponseError, match="unknown merge kind"):
        await store.ingest(broken)

    assert await store.load_visitor("demo", "v_atomic0001") == before
    assert len(await store.read_log("demo")) == log_before
    result = await store.ingest(good)  # the dedup ring was not touched either: the good events are fresh
    assert result.fresh == ((1, 2) if with_duplicate else (0, 1))
    async for key in redis_client.scan_iter(match=f"{key_prefix}:*"):
        await redis_client.delete(key)
