"""Site configs as marketers change them: validated, versioned (who, when, what), and reversible.

Every save records a new version in the store with its author, time and the
field-by-field changes, then becomes the site's config. This worker reloads its
cache at once; every other worker picks it up on its next ``TACTFUL_SITE_REFRESH_S``
reload (2 s by default). A rollback is a save of an older document, so history
only ever grows and a rollback can itself be rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.sites import SiteDirectory
from api.store import SiteConfigs
from triggers.config_edit import Change, Problem, changes, check, document_of

BEFORE_HISTORY = "in force before the first recorded change"


class ConfigConflict(Exception):
    """Someone saved another version since the editor loaded the one it changed."""

    def __init__(self, current: int) -> None:
        super().__init__(f"version {current} was saved meanwhile; reload and apply your change to it")
        self.current = current


@dataclass(frozen=True)
class Saved:
    version: int
    document: dict[str, Any]
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


class ConfigHistory:
    def __init__(self, store: SiteConfigs, sites: SiteDirectory, now_ms: Callable[[], int]) -> None:
        self.store = store
        self.sites = sites
        self._now_ms = now_ms

    async def current(self, site: str) -> dict[str, Any] | None:
        """The stored document with the meta of its version (author, time), or None for an unknown site."""
        document = await self.store.get_site_config(site)
        if document is None:
            return None
        version = int(document.get("version", 1))
        recorded = await self.store.config_version(site, version)
        meta = {k: v for k, v in (recorded or {"author": None, "at_ms": None}).items() if k != "document"}
        return {"site": site, "version": version, **meta, "config": document}

    async def dry_run(self, site: str, document: Any) -> Saved:
        """What saving ``document`` would do: its problems, or the changes it would make."""
        checked = check(document, site)
        current = await self.store.get_site_config(site) or {}
        if checked.config is None:
            return Saved(int(current.get("version", 0)), {}, problems=checked.problems)
        proposed = document_of(checked.config.model_copy(update={"version": int(current.get("version", 1))}))
        return Saved(int(current.get("version", 0)), proposed, changes(current, proposed))

    async def save(
        self, site: str, document: Any, author: str, note: str = "", expected_version: int | None = None
    ) -> Saved:
        """Validate and save as the next version; a document with no change saves nothing."""
        checked = check(document, site)
        if checked.config is None:
            return Saved(0, {}, problems=checked.problems)
        current = await self.store.get_site_config(site)
        current_version = int(current.get("version", 1)) if current is not None else 0
        if expected_version is not None and expected_version != current_version:
            raise ConfigConflict(current_version)
        if current is not None:
            if not changes(current, document_of(checked.config)):
                return Saved(current_version, current)
            await self._record_base(site, current)
        recorded = await self.store.config_versions(site)
        version = max([current_version, *(int(v["version"]) for v in recorded)]) + 1
        proposed = document_of(checked.config.model_copy(update={"version": version}))
        diff = changes(current or {}, proposed)
        meta = {"author": author, "at_ms": self._now_ms(), "note": note, "changes": diff}
        if not await self.store.save_config_version(site, version, proposed, meta):
            raise ConfigConflict(version)
        await self.sites.reload()
        return Saved(version, proposed, diff)

    async def versions(self, site: str) -> list[dict[str, Any]]:
        """Newest first."""
        return list(reversed(await self.store.config_versions(site)))

    async def version(self, site: str, version: int) -> dict[str, Any] | None:
        return await self.store.config_version(site, version)

    async def _record_base(self, site: str, current: dict[str, Any]) -> None:
        """The document in force before the first save through the API (seeded, or put by code) is
        recorded too, so that it can be rolled back to."""
        version = int(current.get("version", 1))
        if await self.store.config_version(site, version) is None:
            await self.store.save_config_version(
                site, version, current, {"author": "system", "at_ms": None, "note": BEFORE_HISTORY, "changes": []}
            )
