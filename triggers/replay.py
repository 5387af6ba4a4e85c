"""What-if replay: a recorded event log through features, scoring and ``decide`` on a simulated clock.

Deterministic: the clock is the log's own (server-corrected) timestamps, the
only randomness in the policy is hashed, and ties are broken by arrival order,
so the same log and config always give the same report. Decisions happen where
they would live: after each batch, and on a tick every ``tick_s`` seconds while
a visitor is active (the tracker's heartbeats). Every invitation is treated as
shown; recorded invitation outcomes are dropped, because they answered another
config's invitations.

Capacity model: ``agents`` agents (``new_agents`` of them new) at the config's
per-agent limits; an agent-mode invitation with acceptance probability p holds
p of a slot from the moment it is shown until ``expires_in + average_chat_s``
later. The pacing pool holds each waiting candidate for ``pool_ttl_s``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from tracker import protocol as p
from tracker.events import evidence_ops, fold
from tracker.merge import apply_all
from tracker.session import continuity, start_session
from triggers import reasons as r
from triggers.capacity import Agent, CapacitySnapshot, Rival, reserves_capacity
from triggers.config import SiteConfig
from triggers.context import Decision, DecisionContext, Privacy
from triggers.decide import decide
from triggers.experiment import TREATED
from triggers.observe import judge
from triggers.replay_report import Invitation, ReplayReport

Score = Callable[[Mapping[str, float]], float]
Explain = Callable[[Mapping[str, float]], list[str]]
Policy = Callable[[DecisionContext], Decision]
OUTCOMES = frozenset({"invite_shown", "invite_accepted", "invite_dismissed"})


@dataclass(frozen=True)
class ReplayOptions:
    agents: int = 2
    new_agents: int = 0
    tick_s: float = 5.0
    idle_after_s: float = 60.0  # no event for this long: the visitor has left, stop ticking
    pool_ttl_s: float = 15.0
    progress_every: int = 1000


@dataclass(frozen=True)
class ReplayProgress:
    entries: int
    now_ms: int
    invitations: int


@dataclass
class _Visitor:
    visitor: str
    session_id: str = ""
    session: dict[str, str] = field(default_factory=dict)
    record: dict[str, str] = field(default_factory=dict)
    last_event_ms: int = 0
    privacy: Privacy = field(default_factory=Privacy)
    last_primary: str | None = None
    invited: bool = False
    ticking: bool = False
    highest: float | None = None
    """The session's highest score while a candidate, and whether its group may be invited (as the
    dashboard's score histogram counts sessions)."""
    treated: bool = False


@dataclass
class _Load:
    """Expected chats promised to agents: (until_ms, weight) per agent-mode invitation."""

    holds: list[tuple[int, float]] = field(default_factory=list)

    def at(self, now_ms: int) -> list[float]:
        self.holds = [(until, weight) for until, weight in self.holds if until > now_ms]
        return [weight for _, weight in self.holds]


class _Simulation:
    def __init__(
        self, config: SiteConfig, score: Score, explain: Explain | None, options: ReplayOptions, policy: Policy
    ) -> None:
        self.config, self.score, self.explain, self.options, self.policy = config, score, explain, options, policy
        agents = [Agent(id=f"a{i}", new=i < options.new_agents) for i in range(options.agents)]
        self.agents = agents
        slots = sum(
            config.capacity.max_chats_per_new_agent if a.new else config.capacity.max_chats_per_agent for a in agents
        )
        self.report = ReplayReport(
            config.site, config.version, options.agents, slots, threshold=config.timing.score_threshold
        )
        self.visitors: dict[str, _Visitor] = {}
        self.ticks: list[tuple[int, int, str]] = []
        self.seq = 0
        self.pool: dict[str, tuple[Rival, int]] = {}
        self.load = _Load()
        self.clock = 0

    # -- the clock ------------------------------------------------------------------------

    def run_ticks(self, until_ms: int | None) -> None:
        while self.ticks and (until_ms is None or self.ticks[0][0] <= until_ms):
            at, _, key = heapq.heappop(self.ticks)
            self.clock = max(self.clock, at)
            visitor = self.visitors[key]
            visitor.ticking = False
            if at - visitor.last_event_ms <= self.options.idle_after_s * 1000:
                self.decide(visitor, at)
                self.schedule(visitor, at)

    def schedule(self, visitor: _Visitor, now_ms: int) -> None:
        if not visitor.ticking:
            visitor.ticking = True
            self.seq += 1
            heapq.heappush(self.ticks, (now_ms + int(self.options.tick_s * 1000), self.seq, visitor.visitor))

    # -- one logged batch ------------------------------------------------------------------

    def ingest(self, entry: Mapping[str, Any]) -> None:
        report = self.report
        report.entries += 1
        raw_events = entry.get("events") or []
        if entry.get("site") != self.config.site or not raw_events:
            report.skipped_entries += 1
            return
        events: list[p.Event] = []
        for raw in raw_events:
            report.events += 1
            if raw.get("t") in OUTCOMES:
                report.ignored_outcomes += 1
                continue
            try:
                events.append(msgspec.convert(raw, p.Event))
            except msgspec.ValidationError:
                report.invalid_events += 1
        if not events:
            return
        first, last = min(e.ts for e in events), max(e.ts for e in events)
        now = max(self.clock, int(entry.get("received_ms") or last))
        self.run_ticks(now)
        self.clock = now
        key = str(entry["visitor"])
        visitor = self.visitors.setdefault(key, _Visitor(key))
        session_id = str(entry["session"])
        stored = visitor.session
        state = continuity(stored.get("sid"), _int(stored.get("st")), _int(stored.get("ls")), session_id, first, last)
        if state == "stale":
            return
        if state == "new":
            self.finish_session(visitor)
            visitor.session = start_session(session_id, visitor.record)
            visitor.session_id, visitor.invited = session_id, False
            report.sessions += 1
        visitor.privacy = Privacy(dnt=bool(entry.get("dnt")), gpc=bool(entry.get("gpc")))
        fold(visitor.session, visitor.record, [(event, event.ts) for event in events])
        visitor.last_event_ms = max(visitor.last_event_ms, last)
        self.decide(visitor, now)
        self.schedule(visitor, now)

    def finish_session(self, visitor: _Visitor) -> None:
        if visitor.session_id and not visitor.invited:
            self.report.sessions_not_invited_by_reason[visitor.last_primary or "no_decision"] += 1
        if visitor.session_id and visitor.highest is not None:
            self.report.candidate_scores.append((visitor.highest, visitor.treated))
        visitor.highest, visitor.treated = None, False

    # -- one decision ---------------------------------------------------------------------

    def _score(self, features: dict[str, float]) -> tuple[float, list[str]]:
        return float(self.score(features)), self.explain(features) if self.explain else []

    def decide(self, visitor: _Visitor, now_ms: int) -> None:
        self.pool = {key: held for key, held in self.pool.items() if held[1] > now_ms}
        judged = judge(
            self.config,
            visitor.visitor,
            visitor.session,
            visitor.record,
            now_ms,
            self._score,
            CapacitySnapshot.model_construct(agents=self.agents, pending_invites=self.load.at(now_ms)),
            [rival for key, (rival, _) in self.pool.items() if key != visitor.visitor],
            visitor.privacy,
            self.policy,
        )
        decision, context = judged.decision, judged.context
        self.report.decisions += 1
        if r.stage_of(decision.codes, decision.score, self.config.timing.score_threshold) >= r.CANDIDATE_STAGE:
            if visitor.highest is None or decision.score > visitor.highest:
                visitor.highest = decision.score
            visitor.treated = visitor.treated or decision.group in TREATED
        if decision.evidence_since_ms != judged.facts.evidence_since_ms:  # as the live decider stores it
            apply_all(visitor.session, visitor.record, evidence_ops(now_ms, decision.evidence_since_ms))
        if decision.pacing_candidate:
            self.pool[visitor.visitor] = (
                Rival(visitor=visitor.visitor, score=context.score, priority=decision.priority),
                now_ms + int(self.options.pool_ttl_s * 1000),
            )
        else:
            self.pool.pop(visitor.visitor, None)
        if decision.action != "invite":
            visitor.last_primary = decision.primary_reason
            self.report.not_invited_by_reason[decision.primary_reason or "none"] += 1
            return
        self.record_invitation(visitor, decision, context, now_ms)

    def record_invitation(self, visitor: _Visitor, decision: Decision, context: DecisionContext, now_ms: int) -> None:
        shown = p.InviteShown(ts=now_ms, invite=decision.invite or "i_replayed")
        fold(visitor.session, visitor.record, [(shown, now_ms)])
        visitor.invited = True
        acceptance = context.expected_acceptance
        if reserves_capacity(decision.mode):
            hold_ms = (self.config.timing.expires_in_s + self.config.capacity.average_chat_s) * 1000
            self.load.holds.append((now_ms + hold_ms, acceptance))
            self.report.peak_expected_load = max(self.report.peak_expected_load, sum(self.load.at(now_ms)))
        started = context.facts.session_started_ms or now_ms
        self.report.invitations.append(
            Invitation(
                visitor.visitor,
                visitor.session_id,
                now_ms,
                started,
                decision.mode or "agent",
                acceptance,
                tuple(decision.codes),
            )
        )
        self.report.invitations_by_reason.update(decision.codes)


def _int(text: str | None) -> int | None:
    return int(float(text)) if text else None


def replay(
    entries: Iterable[Mapping[str, Any]],
    config: SiteConfig,
    score: Score,
    *,
    explain: Explain | None = None,
    options: ReplayOptions | None = None,
    policy: Policy = decide,
    progress: Callable[[ReplayProgress], None] | None = None,
) -> ReplayReport:
    """Replay ``entries`` (event-log entries, oldest first) under ``config``.

    ``policy`` defaults to ``decide``; another policy (e.g. a fixed-delay rule)
    can be replayed on the same log for a fair comparison.
    """
    options = options or ReplayOptions()
    simulation = _Simulation(config, score, explain, options, policy)
    for count, entry in enumerate(entries, start=1):
        simulation.ingest(entry)
        if progress is not None and count % options.progress_every == 0:
            progress(ReplayProgress(count, simulation.clock, len(simulation.report.invitations)))
    simulation.run_ticks(None)
    for visitor in simulation.visitors.values():
        simulation.finish_session(visitor)
    report = simulation.report
    if progress is not None:
        progress(ReplayProgress(report.entries, simulation.clock, len(report.invitations)))
    return report
