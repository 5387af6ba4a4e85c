"""The analytics report for a site and a time window: reads the store once per source, then pure maths."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from api.analytics import figures as m
from api.availability import Availability
from api.learning.cache import ModelCache
from api.sites import SiteDirectory
from api.store import Journal, ModelRegistry, VisitorLog
from tracker.days import day_of
from triggers import ReplayOptions, SiteConfig, replay
from triggers.capacity import total_slots


class AnalyticsStore(VisitorLog, Journal, ModelRegistry, Protocol):
    """What a report reads: the event log and counters, the journal and load samples, the model's quality."""


MAX_REPLAY_ENTRIES = 50_000
"""What-if replays at most this many log entries (the newest of the window are dropped)."""
MAX_LOG_ENTRIES = 200_000


class Analytics:
    def __init__(
        self,
        store: AnalyticsStore,
        sites: SiteDirectory,
        models: ModelCache,
        availability: Availability,
        now_ms: Callable[[], int],
    ) -> None:
        self.store = store
        self.sites = sites
        self.models = models
        self.availability = availability
        self.now_ms = now_ms

    async def counters(self, site: str, start_ms: int, end_ms: int) -> Counter[str]:
        """Daily counters summed over every UTC day the window touches."""
        total: Counter[str] = Counter()
        for day in range(day_of(start_ms), day_of(end_ms) + 1):
            total.update(await self.store.counters(site, day))
        return total

    async def report(self, site: str, config: SiteConfig, start_ms: int, end_ms: int) -> dict[str, Any]:
        entries, records, counters, samples, model = await asyncio.gather(
            self.store.read_log(site, start_ms, end_ms, limit=MAX_LOG_ENTRIES),
            self.store.read_journal(site, start_ms, end_ms),
            self.counters(site, start_ms, end_ms),
            self.store.read_load_samples(site, start_ms, end_ms),
            self.store.get_model(site),
        )
        logged = m.log_facts(entries)
        sessions = m.sessions_of(records)
        expires_ms = config.timing.expires_in_s * 1000
        hours = (end_ms - start_ms) / 3_600_000
        load = m.agent_load(samples)
        slots = load["mean_slots"]
        if slots is None:  # no samples yet: the capacity online now is the best guess
            slots = float(total_slots(config.capacity, self.availability.capacity(site)))
        return {
            "site": site,
            "window": {
                "start_ms": start_ms,
                "end_ms": end_ms,
                "hours": hours,
                "log_entries": len(entries),
                "truncated": len(entries) >= MAX_LOG_ENTRIES,
                "counter_days": [day_of(start_ms), day_of(end_ms)],
            },
            "config": {
                "version": config.version,
                "score_threshold": config.timing.score_threshold,
                "average_chat_s": config.capacity.average_chat_s,
                "holdout": config.experiment.holdout,
            },
            "funnel": m.funnel(logged, sessions, counters, expires_ms, end_ms),
            "invitations": m.invitations(logged, sessions, expires_ms, end_ms),
            "uplift": m.uplift(logged, sessions),
            "reasons": m.reasons(counters, sessions),
            "scores": {
                "histogram": m.histogram(sessions),
                "projection": m.projection(sessions, hours, config.capacity.average_chat_s, slots),
                "capacity_slots": slots,
            },
            "agent_load": load,
            "outcomes": m.outcome_rates(logged, sessions),
            "hotspots": m.hotspots(logged),
            "model": {
                "serving_version": self.models.version(site),
                "committed_version": None if model is None else model[0],
                "quality": None if model is None else model[2],
            },
        }

    async def what_if(
        self, site: str, proposed: SiteConfig, current: SiteConfig, start_ms: int, end_ms: int, agents: int | None
    ) -> dict[str, Any]:
        """Replay the window's event log under the proposed and the current config, same scorer, same agents."""
        entries = await self.store.read_log(site, start_ms, end_ms, limit=MAX_REPLAY_ENTRIES)
        logged = [dataclasses.asdict(entry) for entry in entries]
        online = len(self.availability.capacity(site).agents)
        if agents is None:
            agents = online
        scorer = self.models.scorer(site)
        explain = scorer.explain
        options = ReplayOptions(agents=agents)

        def run(config: SiteConfig) -> dict[str, Any]:
            return replay(logged, config, scorer.predict_proba_one, explain=explain, options=options).summary()

        proposed_report, current_report = await asyncio.gather(
            asyncio.to_thread(run, proposed), asyncio.to_thread(run, current)
        )
        return {
            "site": site,
            "window": {
                "start_ms": start_ms,
                "end_ms": end_ms,
                "log_entries": len(entries),
                "truncated": len(entries) >= MAX_REPLAY_ENTRIES,
            },
            "agents": agents,
            "agents_online": online,
            "scored_by": {"model_version": self.models.version(site), "labels": scorer.n_learned},
            "proposed": proposed_report,
            "current": current_report,
        }
