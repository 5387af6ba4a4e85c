"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import Receive, Scope, Send

from api.analytics.load import LoadSampler
from api.availability import Availability
from api.chat import routes as chat_routes
from api.chat import start_chat
from api.counters import CounterBuffer
from api.decider import Decider
from api.engine import Engine
from api.errors import install_error_handlers
from api.learning.cache import ModelCache
from api.learning.learner import LearnerPool
from api.limits import CollectLimits, RateLimiter
from api.meter import NO_METER, Meter
from api.observe import RequestContext
from api.openapi import BATCH_COMPONENTS, document_errors
from api.periodic import Periodic
from api.prometheus import router as metrics_router
from api.routes import admin, analytics, collect, dashboard, health, pages, site_config
from api.settings import Settings
from api.sites import SiteDirectory
from api.store import MemoryStore, RedisStore, Store, StoreUnavailable
from triggers import SiteConfig
from triggers.presets import demo_config

log = logging.getLogger("tactful")


def open_store(settings: Settings, meter: Meter = NO_METER) -> Store:
    if settings.redis_url:
        return RedisStore.from_url(
            settings.redis_url,
            cluster=settings.redis_cluster,
            prefix=settings.redis_prefix,
            shards=settings.redis_shards,
            max_connections=settings.redis_max_connections,
            meter=meter,
            wait_replicas=settings.redis_wait_replicas,
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return MemoryStore(
        max_visitors=settings.max_visitors,
        log_file=settings.data_dir / "events.jsonl",
        model_dir=settings.data_dir / "models",
    )


def collect_limits(settings: Settings) -> CollectLimits:
    return CollectLimits(
        RateLimiter(settings.rate_limit_ip_per_s, settings.rate_limit_ip_burst, settings.rate_limit_max_keys),
        RateLimiter(settings.rate_limit_visitor_per_s, settings.rate_limit_visitor_burst, settings.rate_limit_max_keys),
    )


def demo_site(settings: Settings) -> SiteConfig:
    return demo_config([settings.public_url])


class TactfulAPI(FastAPI):
    """FastAPI, with ``POST /v1/collect`` answered before the middleware stack (``api.routes.collect``)."""

    collect_endpoint = collect.CollectEndpoint()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if collect.is_collect(scope):
            scope["app"] = self
            await self.collect_endpoint(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    meter: Meter = NO_METER,
) -> FastAPI:
    """``clock`` (seconds since the epoch) is the engine's only notion of now: tests pass a simulated one.
    ``meter`` counts the store round trips of the store this app opens and of its collects (the benchmark's)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state_store = store if store is not None else open_store(settings, meter)
        app.state.store = state_store
        sites = SiteDirectory(state_store)
        if settings.demo and await state_store.get_site_config("demo") is None:
            await sites.put(demo_site(settings))
        await sites.reload()
        models = ModelCache(state_store)
        await models.refresh_all()
        availability = Availability(state_store, sites.keys, clock=clock)
        await availability.refresh_all()
        counters = CounterBuffer(state_store)
        decider = Decider(state_store, models, availability, counters)
        app.state.engine = Engine(state_store, sites, decider, clock=clock, meter=meter)
        app.state.engine.limits = collect_limits(settings)
        app.state.chat = await start_chat(state_store, settings, sites.keys, sites.get, clock=clock)
        background = [
            Periodic("site configs", sites.reload, settings.site_refresh_s),
            Periodic("models", models.refresh_all, settings.model_refresh_s),
            Periodic("availability", availability.refresh_all, settings.availability_refresh_s),
            Periodic("counters", counters.flush, 1.0),
            Periodic(
                "agent load",
                LoadSampler(state_store, sites, availability, app.state.engine.now_ms).sample,
                settings.load_sample_s,
            ),
            Periodic("store buffers", state_store.flush, 1.0),
        ]
        for job in background:
            job.start()
        # One process owns the memory store, so it is also the single learner; with Redis,
        # `tactful learner` is (run_learner=True makes a worker do it, for small deployments).
        learners = LearnerPool(state_store) if settings.run_learner or state_store.process_local else None
        learning = asyncio.create_task(learners.run()) if learners else None
        try:
            yield
        finally:
            for job in background:
                await job.stop()
            await app.state.chat.stop()
            await decider.drain()
            with contextlib.suppress(StoreUnavailable):
                await counters.flush()
            if learners is not None and learning is not None:
                await learners.stop()
                await learning
            if store is None:
                await state_store.close()

    # No Swagger UI or ReDoc pages: they run inline scripts from a CDN, which our CSP forbids on every HTML
    # page; /openapi.json is the description (load it into any viewer).
    app = TactfulAPI(
        title="Tactful",
        version="1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Proactive chat trigger engine. Wire protocol: docs/protocol.md",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContext, access_log=settings.access_log)
    app.include_router(collect.router)
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    app.include_router(chat_routes.router)
    app.include_router(site_config.router)
    app.include_router(analytics.router)
    app.include_router(dashboard.router)
    app.include_router(metrics_router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(BATCH_COMPONENTS)
            schema.setdefault("paths", {}).update(collect.OPENAPI_PATH)
            app.openapi_schema = document_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def settle_for_serving() -> None:
    """The garbage collector set for a long-lived server, once the app is built."""
    # Everything imported and built so far lives as long as the process: move it out of the cyclic
    # garbage collector's sight. A full collection walked these ~80,000 objects in ~60 ms on a 2-core
    # machine, a stall of every request in flight, and collect's steady allocation triggers one now
    # and then; after the freeze it walks only what requests left behind.
    gc.freeze()

    # The young generation is collected after a net 10,000 new container objects rather than
    # Python's default (700 on 3.11 and 3.12, 2,000 since 3.13). Requests in flight hold objects
    # across many collects: at 700 the young collections kept catching them, promoting them and so
    # feeding collections of the older generations. Measured on Python 3.11 over 16,000 concurrent
    # collects, garbage collection took 7 us per collect on Redis and 9 to 16 us on the memory store
    # at 700, and 1.4 and 2 to 3 us at 10,000; the uncollected garbage it allows is a few megabytes.
    gc.set_threshold(10_000, 10, 10)
