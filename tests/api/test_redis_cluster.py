"""The app on a real three-master Redis Cluster (TACTFUL_REDIS_CLUSTER): a struggler is invited through /v1/collect."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from api import create_app
from tests.api.conftest import settings
from tests.api.shopping import (
    NOON_WEDNESDAY_LONDON,
    Clock,
    Visitor,
    agents_online,
    rollout_visitors,
    shop_config,
    struggle,
)

pytestmark = pytest.mark.redis

TOKEN = "cluster-test-admin-token-0123456"


def test_collect__on_a_redis_cluster__struggler_invited_and_analytics_read_back(
    redis_cluster_url: str, key_prefix: str, tmp_path: Path
) -> None:
    clock = Clock(NOON_WEDNESDAY_LONDON)
    cluster_settings = settings(
        data_dir=tmp_path, redis_url=redis_cluster_url, redis_cluster=True, redis_prefix=key_prefix, admin_token=TOKEN
    )
    try:
        with TestClient(create_app(cluster_settings, clock=clock)) as shop:
            engine = shop.app.state.engine  # type: ignore[attr-defined]
            assert isinstance(engine.store.client, aioredis.RedisCluster)
            shop.portal.call(engine.sites.put, shop_config())  # type: ignore[union-attr]
            agents_online(shop, 1)
            visitor = Visitor(shop, clock, next(rollout_visitors(shop_config())))
            visitor.browse(until=25)

            invited_at = struggle(visitor, onset=25)

            assert invited_at is not None and 25 < invited_at <= 35
            decision = visitor.decisions[0][1]
            assert decision["action"] == "invite" and decision["mode"] == "agent"
            assert "score_above_threshold" in decision["reasons"]
            shop.portal.call(engine.decider.drain)  # type: ignore[union-attr]
            shop.portal.call(engine.decider.counters.flush)  # type: ignore[union-attr]
            # Site-wide reads fan out over the shards on every node: the journal, the counters.
            window = {"start": str(int(NOON_WEDNESDAY_LONDON * 1000)), "end": str(int(clock.now * 1000) + 1)}
            report = shop.get(
                "/v1/admin/sites/demo/analytics", params=window, headers={"authorization": f"Bearer {TOKEN}"}
            )
            assert report.status_code == 200, report.text
            funnel = report.json()["funnel"]
            assert (funnel["visitors"], funnel["invited"]) == (1, 1)
            assert shop.get("/readyz").status_code == 200
    finally:
        with redis.RedisCluster.from_url(redis_cluster_url) as client:
            for key in client.scan_iter(match=f"{key_prefix}:*", count=1000):
                client.delete(key)
