"""When the state store is down, collect answers 503 with Retry-After so the tracker keeps its batch."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api import create_app
from loadtests.redis_server import start_redis
from tests.api.conftest import settings
from tests.api.shopping import ORIGIN
from tests.factories import DESIGN_EXAMPLE

pytestmark = pytest.mark.redis


def test_collect__redis_stops_and_returns__503_then_recovers_without_restart(tmp_path: object) -> None:
    server = start_redis()
    try:
        app = create_app(settings(redis_url=server.url, data_dir=tmp_path))
        with TestClient(app) as client:
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
    finally:
        server.stop()
