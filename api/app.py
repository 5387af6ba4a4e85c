"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.decisions import NeverInvitePlaceholder
from api.engine import Engine
from api.openapi import BATCH_COMPONENTS
from api.routes import collect, health
from api.settings import Settings
from api.sites import SiteDirectory
from tracker.store import MemoryStore, RedisStore, Store
from triggers import SiteConfig

log = logging.getLogger("tactful")


def open_store(settings: Settings) -> Store:
    if settings.redis_url:
        return RedisStore.from_url(settings.redis_url, prefix=settings.redis_prefix, shards=settings.redis_shards)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return MemoryStore(max_visitors=settings.max_visitors, log_file=settings.data_dir / "events.jsonl")


def demo_site(settings: Settings) -> SiteConfig:
    return SiteConfig(site="demo", allowed_origins=[settings.public_url])


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state_store = store if store is not None else open_store(settings)
        sites = SiteDirectory(state_store, settings.site_refresh_s)
        if settings.demo and await state_store.get_site_config("demo") is None:
            await sites.put(demo_site(settings))
        await sites.reload()
        sites.start()
        app.state.engine = Engine(state_store, sites, NeverInvitePlaceholder())
        try:
            yield
        finally:
            await sites.stop()
            if store is None:
                await state_store.close()

    app = FastAPI(title="Tactful", version="1.0", lifespan=lifespan,
                  description="Proactive chat trigger engine. Wire protocol: docs/protocol.md")
    app.state.settings = settings
    app.include_router(collect.router)
    app.include_router(health.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(BATCH_COMPONENTS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
