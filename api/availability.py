"""Who can answer and who is waiting, as every worker sees it: read from the store, cached briefly.

Decisions read capacity on every request, so it is cached per site and
refreshed every ``refresh_s`` (default 0.5 s) in the background: a change in
agent presence reaches every worker's decisions within a second, and a request
never waits on it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from api.store import ExpiringTables
from triggers.capacity import Agent, CapacitySnapshot, Rival, reserves_capacity

log = logging.getLogger("tactful.availability")


def reservations(pending: Iterable[Mapping[str, Any]]) -> list[float]:
    """The shares of a slot that shown, unanswered invitations hold: agent invitations only.

    An entry without a mode was written before modes were recorded (every mode reserved then); it is
    counted as an agent invitation, as it was, until it expires a couple of minutes later. An unreadable
    acceptance holds a whole slot: too cautious for a moment rather than promising a slot nobody has.
    """
    held = []
    for invite in pending:
        if not reserves_capacity(invite.get("mode", "agent")):
            continue
        try:
            acceptance = min(1.0, max(0.0, float(invite.get("acceptance", 1.0))))
        except (TypeError, ValueError):
            acceptance = 1.0
        held.append(acceptance)
    return held


class Availability:
    def __init__(
        self, store: ExpiringTables, sites: Callable[[], Iterable[str]], clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self._sites = sites
        self._clock = clock
        self._capacity: dict[str, CapacitySnapshot] = {}
        self._rivals: dict[str, list[Rival]] = {}

    def capacity(self, site: str) -> CapacitySnapshot:
        return self._capacity.get(site) or CapacitySnapshot()

    def rivals(self, site: str) -> list[Rival]:
        return self._rivals.get(site, [])

    async def refresh(self, site: str) -> None:
        now_ms = int(self._clock() * 1000)
        agents = await self.store.read_expiring(site, "agents", now_ms)
        pending = await self.store.read_expiring(site, "pending", now_ms)
        pool = await self.store.read_expiring(site, "pool", now_ms)
        self._capacity[site] = CapacitySnapshot(
            agents=[
                Agent(
                    id=agent_id,
                    new=bool(a.get("new")),
                    active_chats=int(a.get("active_chats", 0)),
                    max_chats=a.get("max_chats"),
                )
                for agent_id, a in agents.items()
                if a.get("status", "online") == "online"
            ],
            pending_invites=reservations(pending.values()),
        )
        self._rivals[site] = [
            Rival(
                visitor=visitor,
                score=float(entry["score"]),
                priority=None if entry.get("priority") is None else float(entry["priority"]),
            )
            for visitor, entry in pool.items()
        ]

    async def refresh_all(self) -> None:
        for site in list(self._sites()):
            await self.refresh(site)
