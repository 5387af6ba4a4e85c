"""Site configs as every worker sees them: read from the store, cached, refreshed in the background."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from api.store import SiteConfigs
from triggers import SiteConfig

log = logging.getLogger("tactful.sites")


class SiteDirectory:
    def __init__(self, store: SiteConfigs) -> None:
        self._store = store
        self._sites: dict[str, SiteConfig] = {}

    def keys(self) -> list[str]:
        return list(self._sites)

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
