"""Deciding after a collect: score, ask the trigger policy, and record what the decision implies.

The policy itself (``triggers.decide``) is pure; this module gathers its inputs
(features, score, cached capacity and pacing pool, privacy headers, the
remembered evidence time) and performs its consequences: an invitation is
recorded on the visitor (caps hold at once), an agent invitation is reserved
against capacity (a bot or offline one promises no person), and its feature
snapshot goes to the learner; a visitor waiting for capacity joins the
pacing pool; browser outcomes become label records; reasons are counted.
Only an invitation is awaited; the rest is rare and written in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol

from api.availability import Availability
from api.counters import CounterBuffer
from api.learning.cache import ModelCache
from api.store import ExpiringTables, IngestResult, LabelStream, StoreUnavailable, VisitorLog
from tracker import protocol as p
from tracker.events import evidence_ops, invite_offered_ops
from tracker.features import VisitorFacts
from tracker.ingest import PreparedBatch
from triggers import SiteConfig
from triggers import reasons as r
from triggers.capacity import reserves_capacity
from triggers.context import Decision, Privacy
from triggers.observe import Judgement, judge


class DecisionStore(VisitorLog, ExpiringTables, LabelStream, Protocol):
    """A decision's writes: the offer into the visitor, the pending invite, its snapshot for learning."""


log = logging.getLogger("tactful.decider")

INVITE_MEMORY_MS = 3_600_000
"""An invitation's decision is kept this long for the chat it may open."""
POOL_TTL_MS = 20_000
"""A waiting visitor stays a pacing rival this long after their last decision (heartbeats refresh it)."""
OUTCOMES: Mapping[type, str] = {p.InviteShown: "shown", p.InviteAccepted: "accepted", p.InviteDismissed: "dismissed"}


class Decider:
    def __init__(
        self, store: DecisionStore, models: ModelCache, availability: Availability, counters: CounterBuffer
    ) -> None:
        self.store = store
        self.models = models
        self.availability = availability
        self.counters = counters
        self._background: set[asyncio.Task[Any]] = set()

    def _later(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background write failed: %s", task.exception())

    async def drain(self) -> None:
        """Wait for background writes (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def after_ingest(
        self, config: SiteConfig, batch: PreparedBatch, result: IngestResult, privacy: Privacy, now_ms: int
    ) -> Decision | None:
        self._record_outcomes(batch, result)
        if result.stale:
            return None
        judged = self.judge(config, batch.visitor, result.session, result.visitor, privacy, now_ms)
        await self._apply(config, batch, judged.decision, judged.features, judged.facts, now_ms)
        return judged.decision

    def judge(
        self,
        config: SiteConfig,
        visitor: str,
        session: Mapping[str, str],
        record: Mapping[str, str],
        privacy: Privacy,
        now_ms: int,
    ) -> Judgement:
        site = config.site
        return judge(
            config,
            visitor,
            session,
            record,
            now_ms,
            self.models.scorer(site).predict_and_explain,
            self.availability.capacity(site),
            self.availability.rivals(site),
            privacy,
        )

    async def _apply(
        self,
        config: SiteConfig,
        batch: PreparedBatch,
        decision: Decision,
        features: dict[str, float],
        facts: VisitorFacts,
        now_ms: int,
    ) -> None:
        site, visitor, session = config.site, batch.visitor, batch.session
        self.counters.count_decision(site, now_ms, decision)
        self.counters.journal.note(config, visitor, session, facts.path, decision, now_ms)
        remembered = facts.evidence_since_ms
        if decision.action == "invite" and decision.invite is not None:
            await self._record_invite(config, batch, decision, features, now_ms)
        elif decision.evidence_since_ms != remembered:
            self._later(self.store.apply_ops(site, visitor, session, evidence_ops(now_ms, decision.evidence_since_ms)))
        if decision.pacing_candidate:
            entry = {"score": decision.score, "priority": decision.priority}
            self._later(self.store.put_expiring(site, "pool", visitor, entry, now_ms + POOL_TTL_MS))

    async def _record_invite(
        self, config: SiteConfig, batch: PreparedBatch, decision: Decision, features: dict[str, float], now_ms: int
    ) -> None:
        """Awaited: the caps must hold for this visitor's very next request."""
        site, invite = config.site, decision.invite
        assert invite is not None
        snapshot = {
            "k": "decision",
            "invite": invite,
            "features": features,
            "score": decision.score,
            "model_version": self.models.version(site),
            "propensity": decision.propensity,
            "explored": r.EXPLORED in decision.reasons,
            "ts": now_ms,
        }
        # Both before the response: the browser's outcome cannot reach the learner before its decision.
        await asyncio.gather(
            self.store.apply_ops(
                site, batch.visitor, batch.session, invite_offered_ops(now_ms) + evidence_ops(now_ms, None)
            ),
            self.store.append_labels(site, [snapshot]),
        )
        if reserves_capacity(decision.mode):
            expires_ms = now_ms + 1000 * ((decision.expires_in or 60) + 60)
            self._later(
                self.store.put_expiring(
                    site, "pending", invite, {"acceptance": decision.score, "mode": decision.mode}, expires_ms
                )
            )
        self._later(self.store.drop_expiring(site, "pool", batch.visitor))
        # What the agent console shows as "why the engine invited" (api/chat/context.py).
        self._later(
            self.store.put_expiring(
                site,
                "invites",
                invite,
                {"visitor": batch.visitor, "session": batch.session, "decision": decision.to_wire(), "ts": now_ms},
                now_ms + INVITE_MEMORY_MS,
            )
        )

    def _record_outcomes(self, batch: PreparedBatch, result: IngestResult) -> None:
        records = []
        for index in result.fresh:
            prepared = batch.events[index]
            kind = OUTCOMES.get(type(prepared.event))
            if kind is None:
                continue
            invite = prepared.event.invite  # type: ignore[union-attr]
            records.append({"k": kind, "invite": invite, "ts": prepared.ts})
            if kind != "shown":
                self._later(self.store.drop_expiring(batch.site, "pending", invite))
        if records:
            self._later(self.store.append_labels(batch.site, records))


__all__ = ["Decider", "StoreUnavailable"]
