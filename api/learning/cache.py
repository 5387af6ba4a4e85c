"""The model each API worker scores with: the site's last committed snapshot, swapped in live.

A background task polls the committed version (one small read per site every
``refresh_s``) and loads a new snapshot when there is one; requests keep scoring
with the previous model meanwhile, so a new version never blocks a request.
Before the first commit a site scores with the cold-start scorer (the prior).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from api.store import ModelRegistry, SiteConfigs
from scoring import model_file
from scoring.base import Scorer
from scoring.blend import default_site_scorer


class ModelSource(ModelRegistry, SiteConfigs, Protocol):
    """The committed models, and the sites to look for them."""


log = logging.getLogger("tactful.models")


class ModelCache:
    def __init__(self, store: ModelSource) -> None:
        self.store = store
        self._scorers: dict[str, Scorer] = {}
        self._versions: dict[str, int] = {}
        self._qualities: dict[str, dict[str, Any]] = {}  # the committed quality reports (metrics)

    def scorer(self, site: str) -> Scorer:
        scorer = self._scorers.get(site)
        if scorer is None:
            scorer = self._scorers[site] = default_site_scorer()
        return scorer

    def version(self, site: str) -> int:
        return self._versions.get(site, 0)

    def qualities(self) -> dict[str, dict[str, Any]]:
        """The quality report of each site's committed model in use (label counts, examples learned)."""
        return dict(self._qualities)

    async def refresh(self, site: str) -> bool:
        """Load the site's committed model if it is newer than the one in use."""
        version = await self.store.model_version(site)
        if version is None or version == self._versions.get(site):
            return False
        committed = await self.store.get_model(site)
        if committed is None:
            return False
        try:
            loaded = model_file.loads(committed[1])
        except model_file.SnapshotFormatError as error:
            log.error("site %s: model version %s unreadable, keeping the current one: %s", site, version, error)
            return False
        self._scorers[site] = loaded.scorer
        self._versions[site] = committed[0]
        self._qualities[site] = dict(committed[2])
        return True

    async def refresh_all(self) -> None:
        for site in await self.store.list_sites():
            await self.refresh(site)
