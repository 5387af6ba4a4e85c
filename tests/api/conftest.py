"""Apps under test, on both stores, driven through real HTTP semantics (Starlette's TestClient)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from api import Settings, create_app
from tracker.store import MemoryStore, RedisStore, Store

ORIGIN = "http://shop.test"


def settings(**overrides: object) -> Settings:
    return Settings(public_url=ORIGIN, demo=True, **overrides)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def app_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("key_prefix")
        yield RedisStore(aioredis.Redis.from_url(url), prefix=prefix, shards=4)


@pytest.fixture
def client(app_store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), store=app_store), base_url="http://testserver") as test_client:
        yield test_client
        if isinstance(app_store, RedisStore):
            async def cleanup() -> None:
                async for key in app_store.client.scan_iter(match=f"{app_store.prefix}:*"):
                    await app_store.client.delete(key)
                await app_store.close()
            test_client.portal.call(cleanup)  # type: ignore[union-attr]
