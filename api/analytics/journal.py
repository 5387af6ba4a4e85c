"""The decision journal: per-session funnel facts, recorded at decision time, written with the counters.

Every collect ends in a decision, but analytics needs only what *changes* in a
session: the furthest funnel stage it reached (engaged, candidate, eligible),
its highest score once it was a candidate, and each invitation with its page,
variant and mode. ``note`` keeps, per visitor, what this worker last recorded
and queues a record only when one of those advances; ``flush`` (run by the
counters' once-a-second flush) appends the queue to the store's capped journal.
So the collect path gains no store round trip and a session writes a handful of
records, not one per request. Two workers may both record the same advance;
readers merge records per session, so a duplicate changes nothing.

Record fields (short: the journal holds up to 200,000 per site):
``ts`` decision time (ms), ``v`` visitor, ``s`` session, ``g`` experiment group,
``st`` stage (1 engaged, 2 candidate, 3 eligible), ``sc`` score (candidates only),
``r`` primary reason code of that decision, ``p`` page path; for an invitation
also ``i`` invite id, ``var`` message variant, ``m`` mode.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

from api.store import Journal, StoreUnavailable
from triggers import reasons as r
from triggers.config import SiteConfig
from triggers.context import Decision

log = logging.getLogger("tactful.journal")

ENGAGED, CANDIDATE, ELIGIBLE = r.ENGAGED_STAGE, r.CANDIDATE_STAGE, r.ELIGIBLE_STAGE
STAGES = {ENGAGED: "engaged", CANDIDATE: "candidate", ELIGIBLE: "eligible"}
SCORE_STEP = 0.02
"""A candidate's score is recorded again when it rises into a new step of this width."""
REMEMBERED_VISITORS = 100_000
MAX_PENDING = 50_000
"""Per site: while the store is down, older queued records are dropped rather than memory growing."""


def stage_of(decision: Decision, threshold: float) -> int:
    """How far this decision got (``triggers.reasons.stage_of``)."""
    return r.stage_of(decision.codes, decision.score, threshold)


@dataclass(slots=True)
class _Seen:
    session: str
    stage: int
    score_step: int


class DecisionJournal:
    def __init__(self, store: Journal, remembered: int = REMEMBERED_VISITORS) -> None:
        self.store = store
        self._remembered = remembered
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()
        self._pending: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)

    def note(
        self, config: SiteConfig, visitor: str, session: str, path: str | None, decision: Decision, now_ms: int
    ) -> None:
        stage = stage_of(decision, config.timing.score_threshold)
        invited = decision.action == "invite"
        if stage == 0 and not invited:
            return
        step = int(decision.score / SCORE_STEP) if stage >= CANDIDATE else -1
        key = (config.site, visitor)
        seen = self._seen.get(key)
        if (
            seen is not None
            and seen.session == session
            and not invited
            and stage <= seen.stage
            and step <= seen.score_step
        ):
            return
        if seen is None or seen.session != session:
            seen = self._seen[key] = _Seen(session, stage, step)
        else:
            seen.stage, seen.score_step = max(seen.stage, stage), max(seen.score_step, step)
        self._seen.move_to_end(key)
        while len(self._seen) > self._remembered:
            self._seen.popitem(last=False)
        record: dict[str, Any] = {
            "ts": now_ms,
            "v": visitor,
            "s": session,
            "g": decision.group,
            "st": stage,
            "r": decision.primary_reason,
            "p": path,
        }
        if stage >= CANDIDATE:
            record["sc"] = round(decision.score, 4)
        if invited:
            record |= {"i": decision.invite, "var": decision.variant, "m": decision.mode}
        pending = self._pending[config.site]
        pending.append(record)
        if len(pending) > MAX_PENDING:
            del pending[: len(pending) - MAX_PENDING]

    async def flush(self) -> None:
        pending, self._pending = self._pending, defaultdict(list)
        for site, records in pending.items():
            try:
                await self.store.append_journal(site, records)
            except StoreUnavailable:
                self._pending[site][:0] = records  # kept for the next flush
                raise
