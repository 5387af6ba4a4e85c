"""The proving ground: simulated visitors in simulated time, driving the real engine.

Everything between the browser and the decision is the product's own code, assembled as ``tactful serve``
assembles it: the memory store, the site directory, the model cache, availability, the decider and the
engine's ``collect`` with the real validation, and the learner loop that commits models which the cache
swaps in. Only the clock is simulated: it jumps from one thing that happens to the next, so an hour of a
shop's traffic runs in seconds. The visitors are ``personas.Visit`` scripts; they react to invitations as
their ground truth says (accept, dismiss or ignore, or leave first), and agents, when the scenario has any,
hold a slot for the length of each chat.

Periodic work (availability, the learner, model refresh, counters) runs at its production period of
simulated time, whenever anything happens at or after its due time.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from api.availability import Availability
from api.counters import CounterBuffer
from api.decider import Decider
from api.engine import Engine
from api.learning.cache import ModelCache
from api.learning.learner import Learner
from api.sites import SiteDirectory
from api.store import MemoryStore
from loadtests.proving.personas import Visit, urgent
from triggers import SiteConfig

ORIGIN = "https://shop.example"
FLUSH_MS = 5_000
HEARTBEAT_MS = 15_000
SHOWN_DELAY_MS = 400


class SimClock:
    """Seconds since the epoch, as the engine asks for them; the runner moves it."""

    def __init__(self, start_ms: int) -> None:
        self.now_ms = start_ms

    def __call__(self) -> float:
        return self.now_ms / 1000


@dataclass
class Invitation:
    at_ms: int
    invite: str
    mode: str
    score: float
    reasons: list[str]
    outcome: str = "ignored"
    """accepted, dismissed, ignored (no answer) or left (gone before answering)."""


@dataclass
class VisitResult:
    visit: Visit
    group: str
    invitations: list[Invitation] = field(default_factory=list)
    helped_ms: int | None = None


@dataclass
class Scenario:
    """What a run varies: the site's config, whether it learns, agents, and how truthfully visitors answer."""

    config: SiteConfig
    learn: bool = True
    agents: dict[str, int] = field(default_factory=dict)
    """Agent id -> concurrent chats; none: nobody online (the config's fallback answers)."""
    chat_s: tuple[float, float] = (180.0, 480.0)
    noise: float = 0.0
    """Share of answers that are a coin flip instead of the visitor's truth."""
    seed: int = 0


def batches(visit: Visit) -> list[tuple[int, list[dict[str, Any]]]]:
    """When the tracker would send which of the visit's events: urgent ones at once, the rest with the
    five-second flush, and a visible heartbeat every fifteen seconds while the visitor is there."""
    events = list(visit.events)
    beat = visit.arrive_ms + HEARTBEAT_MS
    while beat < visit.leave_ms:
        events.append((beat, {"t": "heartbeat", "visible": True}))
        beat += HEARTBEAT_MS
    events.sort(key=lambda item: item[0])
    out: list[tuple[int, list[dict[str, Any]]]] = []
    pending: list[dict[str, Any]] = []
    due: int | None = None
    previous_search: int | None = None
    for ts, event in events:
        if due is not None and ts >= due:
            out.append((due, pending))
            pending, due = [], None
        pending.append({**event, "ts": ts})
        is_urgent = urgent(event, previous_search)
        if event["t"] == "search":
            previous_search = event.get("results")
        if is_urgent:
            out.append((ts, pending))
            pending, due = [], None
        elif due is None:
            due = ts + FLUSH_MS
    if pending:
        out.append((min(due or visit.leave_ms, visit.leave_ms), pending))
    return out


def acceptance(visit: Visit, now_ms: int) -> float:
    """The visitor's truth: how likely they take an invitation shown now (while struggling, or not yet)."""
    if visit.onset_ms is not None and visit.onset_ms <= now_ms < visit.leave_ms:
        return visit.accept_p
    return max(0.02, visit.accept_p / 10)


class _Periodic:
    def __init__(self, period_ms: int, job: Callable[[], Any]) -> None:
        self.period_ms, self.job, self.due_ms = period_ms, job, 0

    async def maybe(self, now_ms: int) -> None:
        if now_ms >= self.due_ms:
            self.due_ms = now_ms + self.period_ms
            await self.job()


class ProvingGround:
    """One run: build the engine, play the visits in time order, keep what happened to each."""

    def __init__(self, scenario: Scenario, visits: list[Visit]) -> None:
        self.scenario = scenario
        self.config = scenario.config
        self.site = scenario.config.site
        self.visits = visits
        start = min(visit.arrive_ms for visit in visits)
        self.clock = SimClock(start)
        self.store = MemoryStore(max_visitors=max(1000, 2 * len(visits)), clock=self.clock)
        self.sites = SiteDirectory(self.store)
        self.models = ModelCache(self.store)
        self.availability = Availability(self.store, self.sites.keys, clock=self.clock)
        self.counters = CounterBuffer(self.store)
        self.decider = Decider(self.store, self.models, self.availability, self.counters)
        self.engine = Engine(self.store, self.sites, self.decider, clock=self.clock)
        self.learner = Learner(self.store, self.site, clock=self.clock) if scenario.learn else None
        self.results = [
            VisitResult(visit, scenario.config.experiment.group(self.site, visit.visitor)) for visit in visits
        ]
        self.chats: dict[str, int] = dict.fromkeys(scenario.agents, 0)
        self.learning_curve: list[dict[str, Any]] = []
        self.collects = 0
        self.sending: int | None = None
        """The visit whose batch is being collected (for observers of the decider)."""
        self._queue: list[tuple[int, int, str, Any]] = []
        self._seq = 0
        self._unsent: dict[int, list[list[dict[str, Any]]]] = {}
        """Per visit, the batches still waiting for their flush: what the tracker holds in its outbox."""

    def _at(self, ms: int, kind: str, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (ms, self._seq, kind, payload))

    async def _presence(self) -> None:
        for agent, limit in self.scenario.agents.items():
            await self.store.put_expiring(
                self.site,
                "agents",
                agent,
                {"status": "online", "new": False, "max_chats": limit, "active_chats": self.chats[agent]},
                self.clock.now_ms + 3_600_000,
            )
        await self.availability.refresh(self.site)

    async def _learn(self) -> None:
        if self.learner is None:
            return
        await self.learner.step(block_ms=0)
        if await self.models.refresh(self.site):
            quality = self.models.qualities().get(self.site, {})
            self.learning_curve.append(
                {
                    "at_ms": self.clock.now_ms,
                    "n_learned": quality.get("n_learned", 0),
                    "model_weight": quality.get("model_weight", 0.0),
                    "roc_auc": quality.get("roc_auc"),
                    "log_loss": quality.get("log_loss"),
                }
            )

    async def run(self) -> ProvingGround:
        await self.sites.put(self.config)
        if self.learner is not None:
            await self.learner.start()
        await self._presence()
        periodic = [
            _Periodic(500, lambda: self.availability.refresh(self.site)),
            _Periodic(2_000, self._learn),
            _Periodic(10_000, self.counters.flush),
        ]
        for index, visit in enumerate(self.visits):
            planned = batches(visit)
            self._unsent[index] = [events for _, events in planned]
            for ms, events in planned:
                self._at(ms, "batch", (index, events))
        while self._queue:
            ms, _, kind, payload = heapq.heappop(self._queue)
            self.clock.now_ms = ms
            for job in periodic:
                await job.maybe(ms)
            if kind == "batch":
                await self._send(*payload)
            elif kind == "chat_end":
                self.chats[payload] -= 1
                await self._presence()
            elif kind == "presence":
                await self._presence()
        await self.decider.drain()
        if self.learner is not None:
            await self._learn()
        return self

    def _take_held(self, index: int, now_ms: int) -> list[dict[str, Any]]:
        """The events recorded by ``now_ms`` and not sent yet: an urgent send (a recheck's heartbeat) takes
        them along, as the tracker's outbox sends everything it holds. Their planned batch sends the rest."""
        held: list[dict[str, Any]] = []
        for events in self._unsent.get(index, ()):
            due = [event for event in events if event["ts"] <= now_ms]
            if due:
                held.extend(due)
                events[:] = [event for event in events if event["ts"] > now_ms]
        return held

    async def _send(self, index: int, events: list[dict[str, Any]]) -> None:
        result = self.results[index]
        visit = result.visit
        if not events:
            return  # a planned batch whose events all went with an earlier urgent send
        if result.helped_ms is not None and events[0]["t"] not in (
            "invite_shown",
            "invite_accepted",
            "invite_dismissed",
        ):
            return  # in a chat: the rest of the script never happens
        unsent = self._unsent.get(index)
        if unsent and any(events is planned for planned in unsent):
            unsent[:] = [planned for planned in unsent if planned is not events]
        else:  # sent early (a recheck, an answer to an invitation): with what the outbox holds
            events = self._take_held(index, events[0]["ts"]) + events
        body = orjson.dumps(
            {
                "v": 1,
                "site": self.site,
                "visitor": visit.visitor,
                "session": visit.session,
                "sent_at": self.clock.now_ms,
                "events": events,
            }
        )
        self.sending = index
        outcome = await self.engine.collect(body, ORIGIN)
        await self.decider.drain()
        self.collects += 1
        if outcome.status != 200:
            raise RuntimeError(f"collect refused a simulated batch: {outcome.status} {outcome.body}")
        decision = outcome.body.get("decision")
        if decision is not None:
            self._invited(index, decision)
        elif (recheck := outcome.body.get("recheck_in_ms")) is not None:
            at = self.clock.now_ms + int(recheck)
            if at < visit.leave_ms:  # the tracker's heartbeat, sent early as the engine asked
                self._at(at, "batch", (index, [{"t": "heartbeat", "ts": at, "visible": True}]))

    def _invited(self, index: int, decision: dict[str, Any]) -> None:
        result = self.results[index]
        visit, now = result.visit, self.clock.now_ms
        invitation = Invitation(
            now, decision["invite"], decision["mode"], float(decision["score"]), list(decision["reasons"])
        )
        result.invitations.append(invitation)
        if now + SHOWN_DELAY_MS >= visit.leave_ms:
            invitation.outcome = "left"
            return
        self._at(
            now + SHOWN_DELAY_MS,
            "batch",
            (index, [{"t": "invite_shown", "ts": now + SHOWN_DELAY_MS, "invite": invitation.invite}]),
        )
        rng = random.Random(f"{self.scenario.seed}:{visit.session}:{invitation.invite}")
        answer_ms = now + SHOWN_DELAY_MS + int(rng.uniform(2.0, 10.0) * 1000)
        accept_p = acceptance(visit, now)
        if rng.random() < self.scenario.noise:
            accept_p = 0.5
        if answer_ms >= visit.leave_ms:
            invitation.outcome = "left"
            return
        if rng.random() < accept_p:
            invitation.outcome = "accepted"
            result.helped_ms = answer_ms
            self._at(
                answer_ms, "batch", (index, [{"t": "invite_accepted", "ts": answer_ms, "invite": invitation.invite}])
            )
            if invitation.mode == "agent":
                self._chat(rng, answer_ms)
        elif rng.random() < 0.7:
            invitation.outcome = "dismissed"
            self._at(
                answer_ms, "batch", (index, [{"t": "invite_dismissed", "ts": answer_ms, "invite": invitation.invite}])
            )

    def _chat(self, rng: random.Random, start_ms: int) -> None:
        """The chat goes to the least busy agent, who is busy for the chat's length."""
        if not self.chats:
            return
        agent = min(self.chats, key=lambda name: self.chats[name] / self.scenario.agents[name])
        self.chats[agent] += 1
        self._at(start_ms, "presence", None)
        self._at(start_ms + int(rng.uniform(*self.scenario.chat_s) * 1000), "chat_end", agent)


def run(scenario: Scenario, visits: list[Visit]) -> ProvingGround:
    """Play ``visits`` through a fresh engine; the result keeps every visit's invitations.

    With the served app's garbage-collector setting (api.app.settle_for_serving): the run holds every visit's script,
    and Python's default young-generation threshold would spend its time walking them."""
    before = gc.get_threshold()
    gc.set_threshold(10_000, 10, 10)
    try:
        return asyncio.run(ProvingGround(scenario, visits).run())
    finally:
        gc.set_threshold(*before)
