"""Decision counters, summed in the worker and added to the store once a second.

Counting every decision with its own store write would double the round trips
of a collect; the counts are analytics, so a second's delay is fine. On
shutdown the buffer is flushed.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Protocol

from api import prometheus
from api.analytics.journal import DecisionJournal
from api.store import Journal, StoreUnavailable, VisitorLog
from tracker.days import day_of
from triggers.context import Decision
from triggers.reasons import RANK

log = logging.getLogger("tactful.counters")

_REASON_COUNTERS = {code: f"d.{code}" for code in RANK}
"""Each policy reason's counter name, built once rather than on every collect."""


class CountedStore(VisitorLog, Journal, Protocol):
    """Daily counters, and the journal that the funnel facts go to."""


class CounterBuffer:
    def __init__(self, store: CountedStore) -> None:
        self.store = store
        self._counts: defaultdict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        self.journal = DecisionJournal(store)  # per-session funnel facts for analytics (#7)

    def count_decision(self, site: str, now_ms: int, decision: Decision) -> None:
        """``decisions``, ``invites``, ``invites.<mode>``, and ``d.<reason>`` for every policy reason."""
        codes = decision.codes
        prometheus.observe_decision(decision, codes)
        counts = self._counts[(site, day_of(now_ms))]
        counts["decisions"] += 1
        for code in codes:
            counts[_REASON_COUNTERS[code]] += 1
        if decision.action == "invite":
            for name in ("invites", f"invites.{decision.mode}", f"group.{decision.group}"):
                counts[name] += 1

    async def flush(self) -> None:
        await self.journal.flush()
        pending, self._counts = self._counts, defaultdict(Counter)
        for (site, day), counts in pending.items():
            try:
                await self.store.add_counters(site, day, counts)
            except StoreUnavailable:
                self._counts[(site, day)].update(counts)  # kept for the next flush
                raise
