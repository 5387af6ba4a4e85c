"""Apps under test, on both stores, driven through real HTTP semantics (Starlette's TestClient).

The app opens and closes its own store (as in production), so its background jobs never outlive
their connections; Redis keys go under a fresh prefix and are deleted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from api import Settings, create_app
from tests.api.shopping import NOON_WEDNESDAY_LONDON, ORIGIN, Clock, shop_config


def settings(**overrides: object) -> Settings:
    # Development mode: these apps run on Redis without an explicit admin token (production refuses that).
    return Settings(public_url=ORIGIN, demo=True, **({"dev_mode": True} | overrides))  # type: ignore[arg-type]


def delete_prefix(url: str, prefix: str) -> None:
    with redis.Redis.from_url(url) as client:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def app_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("data")
    if request.param == "memory":
        yield settings(data_dir=data_dir)
        return
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix")
    yield settings(data_dir=data_dir, redis_url=url, redis_prefix=prefix, redis_shards=4)
    delete_prefix(url, prefix)


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def clock() -> Clock:
    """A simulated clock at noon on a Wednesday in London: inside the demo's opening hours."""
    return Clock(NOON_WEDNESDAY_LONDON)


@pytest.fixture
def shop(app_settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """The app on the simulated clock, with the demo shop's config allowing the test origin."""
    with TestClient(create_app(app_settings, clock=clock)) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        client.portal.call(engine.sites.put, shop_config())  # type: ignore[union-attr]
        yield client
