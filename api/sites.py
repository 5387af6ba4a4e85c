"""Site configs as every worker sees them: read from the store, cached, refreshed in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pydantic import ValidationError

from tracker.store import Store, StoreUnavailable
from triggers import SiteConfig

log = logging.getLogger("tactful.sites")


class SiteDirectory:
    def __init__(self, store: Store, refresh_s: float) -> None:
        self._store = store
        self._refresh_s = refresh_s
        self._sites: dict[str, SiteConfig] = {}
        self._task: asyncio.Task[None] | None = None

    def get(self, site: str) -> SiteConfig | None:
        return self._sites.get(site)

    def allows_origin_anywhere(self, origin: str) -> bool:
        """For CORS preflights, which carry no body and so no site key."""
        return any(config.allows_origin(origin) for config in self._sites.values())

    async def put(self, config: SiteConfig) -> None:
        await self._store.put_site_config(config.site, config.model_dump(mode="json"))
        self._sites[config.site] = config

    async def reload(self) -> None:
        sites: dict[str, SiteConfig] = {}
        for site in await self._store.list_sites():
            document = await self._store.get_site_config(site)
            if document is None:
                continue
            try:
                sites[site] = SiteConfig.model_validate(document)
            except ValidationError as error:
                log.error("site %s: stored config is invalid, keeping the previous one: %s", site, error)
                if site in self._sites:
                    sites[site] = self._sites[site]
        self._sites = sites

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.reload()
            except StoreUnavailable as error:
                log.warning("site configs not refreshed, store unavailable: %s", error)

    def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
