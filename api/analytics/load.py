"""Agent load against capacity, sampled from the cached availability into a per-minute series.

Every worker samples (there is no leader to elect); the store keeps one sample
per site per minute, a later one replacing an earlier one, so N workers write
one series. The values come from the same cache the decisions use.
"""

from __future__ import annotations

from collections.abc import Callable

from api.availability import Availability
from api.sites import SiteDirectory
from api.store import Journal
from triggers.capacity import total_slots


class LoadSampler:
    def __init__(
        self, store: Journal, sites: SiteDirectory, availability: Availability, now_ms: Callable[[], int]
    ) -> None:
        self.store = store
        self.sites = sites
        self.availability = availability
        self._now_ms = now_ms

    async def sample(self) -> None:
        now_ms = self._now_ms()
        sites = self.sites.keys()
        for site in sites:
            config = self.sites.get(site)
            if config is None:
                continue
            snapshot = self.availability.capacity(site)
            await self.store.put_load_sample(
                site,
                now_ms,
                {
                    "agents": len(snapshot.agents),
                    "slots": total_slots(config.capacity, snapshot),
                    "active": sum(agent.active_chats for agent in snapshot.agents),
                    "reserved": round(sum(snapshot.pending_invites), 3),
                },
            )
