"""The production layout for real: two API workers and ``tactful learner`` on one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from api.store import RedisStore
from loadtests.processes import running, spawn, stop, wait_healthy
from loadtests.redis_server import free_port
from tests.api.conftest import delete_prefix
from triggers import SiteConfig
from triggers.presets import demo_config

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TOKEN = "integration-admin-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}


def _site() -> SiteConfig:
    document = demo_config(["http://127.0.0.1"]).model_dump(mode="json")
    document["timing"].update(score_threshold=0.25, sustain_s=2)
    document["experiment"].update(holdout=0.0, exploration=0.0)
    document["hours"] = {
        "timezone": "UTC",
        "weekly": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    }
    return SiteConfig.model_validate(document)


async def _prepare(url: str, prefix: str) -> None:
    store = RedisStore(aioredis.Redis.from_url(url), prefix=prefix, shards=4)
    await store.put_site_config("demo", _site().model_dump(mode="json"))
    await store.put_expiring("demo", "agents", "ann", {"status": "online", "max_chats": 3}, 10**15)
    await store.close()


@pytest.fixture
def layout(redis_url: str, key_prefix: str, tmp_path: Any) -> Iterator[tuple[str, str]]:
    asyncio.run(_prepare(redis_url, key_prefix))
    env = os.environ | {
        "TACTFUL_REDIS_URL": redis_url,
        "TACTFUL_REDIS_PREFIX": key_prefix,
        "TACTFUL_REDIS_SHARDS": "4",
        "TACTFUL_ADMIN_TOKEN": TOKEN,
        "TACTFUL_DEMO": "false",
        "TACTFUL_DATA_DIR": str(tmp_path),
        "TACTFUL_MODEL_REFRESH_S": "0.3",
        "TACTFUL_AVAILABILITY_REFRESH_S": "0.2",
        "TACTFUL_SITE_REFRESH_S": "0.5",
    }
    learner = spawn([sys.executable, "-c", "from api.cli import main; main()", "learner", "--commit-every", "0.3"], env)
    port_a, port_b = free_port(), free_port()
    try:
        with running("api.main:app", port_a, env), running("api.main:app", port_b, env):
            yield f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    finally:
        stop(learner)
        delete_prefix(redis_url, key_prefix)


def _batch(visitor: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"v": 1, "site": "demo", "visitor": visitor, "session": "s_" + visitor[2:], "sent_at": now, "events": events}


def _struggle(now: int) -> list[dict[str, Any]]:
    """A visit that began 40 s ago and has gone wrong on the checkout in the last few seconds."""
    return [
        {"t": "page_view", "ts": now - 40_000, "path": "/demo/"},
        {"t": "page_view", "ts": now - 25_000, "path": "/demo/product/1"},
        {"t": "page_view", "ts": now - 9_000, "path": "/demo/checkout"},
        {"t": "form_error", "ts": now - 8_000, "field": "postcode", "form": "checkout"},
        {"t": "form_error", "ts": now - 6_000, "field": "postcode", "form": "checkout"},
        {"t": "rage_click", "ts": now - 5_000, "count": 4, "sel": "button.pay"},
        {"t": "page_view", "ts": now - 4_000, "path": "/demo/cart"},
        {"t": "page_view", "ts": now - 1_000, "path": "/demo/checkout"},
    ]


def _until(check: Any, timeout_s: float, every_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every_s)
    return None


def test_outcome_on_one_worker__changes_the_score_served_by_the_other(layout: tuple[str, str]) -> None:
    worker_a, worker_b = layout
    visitor = "v_integration01"
    with httpx.Client(timeout=5) as http:
        first = http.post(f"{worker_a}/v1/collect", json=_batch(visitor, _struggle(int(time.time() * 1000))))
        assert first.status_code == 200

        def invited() -> dict[str, Any] | None:  # or, without a burst, once the evidence is sustained
            now = int(time.time() * 1000)
            beat = http.post(
                f"{worker_b}/v1/collect", json=_batch(visitor, [{"t": "heartbeat", "ts": now, "visible": True}])
            )
            decision: dict[str, Any] | None = beat.json()["decision"]
            return decision

        decision = first.json()["decision"] or _until(invited, timeout_s=10, every_s=0.5)
        assert decision is not None and decision["mode"] == "agent"
        # State is shared: worker B knows A invited this visitor, so it does not invite again.
        assert invited() is None

        features = {
            "form_errors": 2,
            "recent_form_errors": 1.8,
            "rage_clicks": 1,
            "u_turns": 1,
            "time_on_site_s": 40,
            "pages_viewed": 5,
        }
        before = http.post(f"{worker_b}/v1/admin/sites/demo/score", json={"features": features}, headers=ADMIN)
        assert before.status_code == 200, before.text

        now = int(time.time() * 1000)
        outcome = http.post(
            f"{worker_a}/v1/collect",
            json=_batch(
                visitor,
                [
                    {"t": "invite_shown", "ts": now - 500, "invite": decision["invite"]},
                    {"t": "invite_accepted", "ts": now, "invite": decision["invite"]},
                ],
            ),
        )
        assert outcome.status_code == 200

        def retrained() -> dict[str, Any] | None:
            after = http.post(f"{worker_b}/v1/admin/sites/demo/score", json={"features": features}, headers=ADMIN)
            body: dict[str, Any] = after.json()
            return body if body["version"] > before.json()["version"] else None

        after = _until(retrained, timeout_s=10)
        assert after is not None, "worker B never served a model learned from worker A's outcome"
        # One label is too few for the model to have a say (scoring/blend.py: MIN_LABELS); the version
        # served moved, and the committed model learned the outcome.
        model = http.get(f"{worker_b}/v1/admin/sites/demo/model", headers=ADMIN).json()
        assert model["committed"]["quality"]["labels"]["by_outcome"]["accepted"] == 1
        assert model["committed"]["quality"]["n_learned"] == 1
        with contextlib.suppress(KeyError):
            assert model["committed"]["quality"]["labels"]["decisions_regular"] == 1


def test_capacity_and_config_changes__reach_the_other_worker_within_seconds(
    layout: tuple[str, str], redis_url: str, key_prefix: str
) -> None:
    worker_a, worker_b = layout
    with httpx.Client(timeout=5) as http:

        def first_decision(visitor: str) -> dict[str, Any] | None:
            reply = http.post(f"{worker_b}/v1/collect", json=_batch(visitor, _struggle(int(time.time() * 1000))))
            decision: dict[str, Any] | None = reply.json()["decision"]
            return decision

        assert (first_decision("v_capacity001") or {}).get("mode") == "agent"

        asyncio.run(_agent_leaves(redis_url, key_prefix))  # the console's presence expires
        started = time.monotonic()
        fallback = _until(lambda: (first_decision(f"v_cap{time.monotonic_ns()}") or {}).get("mode") == "bot", 5)
        assert fallback, "worker B kept inviting to an agent who had left"
        assert time.monotonic() - started < 2.5

        config = http.get(f"{worker_a}/v1/admin/sites/demo/config", headers=ADMIN).json()
        document = config.get("config", config)
        document["targeting"]["exclude_paths"] = [*document["targeting"]["exclude_paths"], "/demo/checkout"]
        saved = http.put(f"{worker_a}/v1/admin/sites/demo/config", json=document, headers=ADMIN)
        assert saved.status_code == 200, saved.text

        def excluded() -> bool:
            reply = http.post(
                f"{worker_b}/v1/collect", json=_batch(f"v_cfg{time.monotonic_ns()}", _struggle(int(time.time() * 1000)))
            )
            return reply.json()["decision"] is None

        assert _until(excluded, timeout_s=5), "worker B never applied the config saved on worker A"


async def _agent_leaves(url: str, prefix: str) -> None:
    store = RedisStore(aioredis.Redis.from_url(url), prefix=prefix, shards=4)
    await store.drop_expiring("demo", "agents", "ann")
    await store.close()


def _events_accepted(registry_text: str) -> float:
    match = re.search(r"^tactful_events_accepted_total (\S+)$", registry_text, flags=re.MULTILINE)
    assert match, "tactful_events_accepted_total missing from /metrics"
    return float(match.group(1))


def _per_worker_events(folder: Path) -> dict[str, float]:
    """Each worker's own count, read from its sample file alone (prometheus-client's multiprocess files)."""
    counts = {}
    for sample_file in folder.glob("counter_*.db"):
        alone = Path(tempfile.mkdtemp())
        shutil.copy(sample_file, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        counts[sample_file.stem] = _events_accepted(generate_latest(registry).decode())
        shutil.rmtree(alone)
    return counts


def test_serve_with_two_workers__every_scrape_of_metrics_counts_both(
    redis_url: str, key_prefix: str, tmp_path: Any
) -> None:
    """`tactful serve --workers 2` as the Procfile runs it: /metrics sums the workers, whichever answers."""
    asyncio.run(_prepare(redis_url, key_prefix))
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"} | {
        "TACTFUL_REDIS_URL": redis_url,
        "TACTFUL_REDIS_PREFIX": key_prefix,
        "TACTFUL_REDIS_SHARDS": "4",
        "TACTFUL_ADMIN_TOKEN": TOKEN,
        "TACTFUL_DEMO": "false",
        "TACTFUL_DATA_DIR": str(tmp_path),
        "TACTFUL_RATE_LIMIT_IP_PER_S": "0",
    }
    port = free_port()
    server = spawn(
        [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port), "--workers", "2"], env
    )
    url = f"http://127.0.0.1:{port}"
    folder: Path | None = None

    def workers() -> list[psutil.Process] | None:
        found = [child for child in psutil.Process(server.pid).children() if "spawn_main" in " ".join(child.cmdline())]
        return found if len(found) == 2 else None

    try:
        wait_healthy(f"{url}/healthz", server)
        both = _until(workers, timeout_s=20)
        assert both, "serve did not start two workers"
        directories = {worker.environ().get("PROMETHEUS_MULTIPROC_DIR") for worker in both}
        assert len(directories) == 1 and None not in directories, f"no shared metrics directory: {directories}"
        folder = Path(str(directories.pop()))

        async def send(count: int) -> None:  # many connections at once: the kernel hands them to both workers
            async with httpx.AsyncClient(timeout=5, limits=httpx.Limits(max_keepalive_connections=0)) as http:
                now = int(time.time() * 1000)
                replies = await asyncio.gather(
                    *(
                        http.post(
                            f"{url}/v1/collect",
                            json=_batch(
                                f"v_metrics{i:05d}",
                                [
                                    {"t": "heartbeat", "ts": now, "visible": True},
                                    {"t": "click", "ts": now, "x": 1, "y": 2},
                                ],
                            ),
                        )
                        for i in range(count)
                    )
                )
                assert all(reply.status_code == 200 for reply in replies)

        sent, deadline = 0, time.monotonic() + 30  # the second worker may still be starting
        while time.monotonic() < deadline and sum(1 for n in _per_worker_events(folder).values() if n > 0) < 2:
            asyncio.run(send(40))
            sent += 40
        per_worker = _per_worker_events(folder)
        assert sum(1 for n in per_worker.values() if n > 0) == 2, per_worker
        assert sum(per_worker.values()) == 2 * sent

        scrapes = [
            _events_accepted(httpx.get(f"{url}/metrics", headers={"connection": "close"}).text) for _ in range(10)
        ]
        assert scrapes == [2.0 * sent] * 10
    finally:
        stop(server)
        delete_prefix(redis_url, key_prefix)
    assert folder is not None and not folder.exists(), "the run's own metrics directory outlived it"
