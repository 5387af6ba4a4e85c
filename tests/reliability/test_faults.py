"""Faults against a real Redis: stopped under load and restarted, nothing is lost or counted twice.

A simulated tracker behaves like widget_js/src/outbox.js: each visitor sends one batch at a time; on a
429, 5xx or a network error it keeps the batch and sends the very same events again (with a fresh
``sent_at``) after ``Retry-After``. Redis runs with an fsync'd append-only file, so what it
acknowledged before it was stopped is there after the restart, as in a production Redis with AOF.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.store import RedisStore
from loadtests.processes import running
from loadtests.redis_server import free_port, start_redis
from tests.api.shopping import ORIGIN

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TOKEN = "fault-test-admin-token-0123456789"
VISITORS = 12
EVENTS_PER_BATCH = 3


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    """Every event's unique path, once per event generated (a retry resends, it does not add)."""
    statuses: Counter[int] = field(default_factory=Counter)
    network_errors: int = 0
    bad_503s: int = 0


async def tracker(client: httpx.AsyncClient, visitor: str, stop: asyncio.Event, tally: Tally) -> None:
    batch_no = 0
    while not stop.is_set():
        batch_no += 1
        now = int(time.time() * 1000)
        paths = [f"/p/{visitor}/{batch_no}/{i}" for i in range(EVENTS_PER_BATCH)]
        events = [{"t": "page_view", "ts": now + i, "path": path} for i, path in enumerate(paths)]
        tally.sent.update(paths)
        while True:  # the outbox: this batch until the server holds it
            body = {
                "v": 1,
                "site": "demo",
                "visitor": visitor,
                "session": f"s_{visitor[2:]}",
                "sent_at": int(time.time() * 1000),
                "events": events,
            }
            try:
                response = await client.post("/v1/collect", json=body, headers={"origin": ORIGIN})
            except httpx.TransportError:
                tally.network_errors += 1
                await asyncio.sleep(0.1)
                continue
            tally.statuses[response.status_code] += 1
            if response.status_code == 200:
                break
            if response.status_code == 503 and (
                response.headers.get("retry-after") is None or response.json().get("error") != "store_unavailable"
            ):
                tally.bad_503s += 1
            assert response.status_code in (429, 503), response.text  # never a 500 or another refusal
            await asyncio.sleep(min(0.2, float(response.headers.get("retry-after", "1"))))
        await asyncio.sleep(0.02)


async def stored_paths(url: str, prefix: str) -> Counter[str]:
    store = RedisStore.from_url(url, prefix=prefix, shards=4)
    try:
        entries = await store.read_log("demo")
    finally:
        await store.close()
    return Counter(event["path"] for entry in entries for event in entry.events)


def test_redis_stopped_under_load_and_restarted__every_event_stored_once_and_server_recovers(tmp_path: Path) -> None:
    redis = start_redis("--appendonly", "yes", "--appendfsync", "always")
    port = free_port()
    env = {
        "TACTFUL_REDIS_URL": redis.url,
        "TACTFUL_REDIS_PREFIX": "faults",
        "TACTFUL_REDIS_SHARDS": "4",
        "TACTFUL_ADMIN_TOKEN": TOKEN,
        "TACTFUL_PUBLIC_URL": ORIGIN,
        "TACTFUL_DATA_DIR": str(tmp_path),
        "TACTFUL_RUN_LEARNER": "true",
        "TACTFUL_LOG_FORMAT": "json",
    }
    try:
        with running("api.main:app", port, os.environ | env):
            tally, readiness = asyncio.run(_drive(f"http://127.0.0.1:{port}", redis))
            stored = asyncio.run(stored_paths(redis.url, "faults"))
    finally:
        redis.stop()

    assert tally.statuses[503] > 0, "the outage was not observed: the test proved nothing"
    assert set(tally.statuses) <= {200, 429, 503} and tally.bad_503s == 0, tally
    assert readiness == {"during": 503, "after": 200}
    assert sum(tally.sent.values()) > 100
    lost = tally.sent - stored
    doubled = stored - tally.sent
    assert not lost and not doubled, (sum(lost.values()), sum(doubled.values()))
    print(
        f"fault test: {sum(tally.sent.values())} events sent and stored once; statuses {dict(tally.statuses)}; "
        f"network errors {tally.network_errors}"
    )


async def _drive(base: str, redis: Any) -> tuple[Tally, dict[str, int]]:
    tally, stop, readiness = Tally(), asyncio.Event(), {}
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        visitors = [asyncio.create_task(tracker(client, f"v_fault{n:05d}", stop, tally)) for n in range(VISITORS)]
        await asyncio.sleep(1.0)
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(1.5)
        readiness["during"] = (await client.get("/readyz")).status_code
        await asyncio.to_thread(redis.start)
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*visitors), 30)  # every kept batch is delivered
        readiness["after"] = (await client.get("/readyz")).status_code
    return tally, readiness
