"""When the state store is down, collect answers 503 with Retry-After so the tracker keeps its batch."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from api import create_app
from loadtests.redis_server import start_redis
from tests.api.conftest import ORIGIN, settings
from tests.factories import DESIGN_EXAMPLE
from tracker.store import RedisStore

pytestmark = pytest.mark.redis


def test_collect__redis_stops_and_returns__503_then_recovers_without_restart(key_prefix: str) -> None:
    server = start_redis()
    store = RedisStore(aioredis.Redis.from_url(server.url, socket_timeout=1, socket_connect_timeout=1),
                       prefix=key_prefix)
    try:
        with TestClient(create_app(settings(), store=store)) as client:
            headers = {"origin": ORIGIN}
            assert client.post("/v1/collect", json=DESIGN_EXAMPLE, headers=headers).status_code == 200

            server.stop()
            down = client.post("/v1/collect", json=DESIGN_EXAMPLE, headers=headers)
            assert down.status_code == 503
            assert down.headers["retry-after"] == "2"
            assert down.json()["error"] == "store_unavailable"
            assert client.get("/readyz").status_code == 503

            server.start()
            again = client.post("/v1/collect", json=DESIGN_EXAMPLE, headers=headers)
            assert again.status_code == 200 and again.json()["accepted"] == 16
            assert client.get("/readyz").json() == {"ready": True}
            client.portal.call(store.close)  # type: ignore[union-attr]
    finally:
        server.stop()
