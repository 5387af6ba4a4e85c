"""The single writer of a site's model: label records in, committed model snapshots out.

River models are not safe for concurrent learning, so exactly one learner per
site learns. API workers append label records to the site's stream in the Store
(``decision`` snapshots when they invite; ``shown``, ``accepted``, ``dismissed``
and agents' verdicts as they arrive); the learner joins them (``LabelJoiner``),
learns, and every ``commit_every_s`` commits the model, its own state and the ids
of the records it learned from in one atomic store call. After a crash it loads
its last commit and redoes the records handed out since, so no label is lost or
learned twice. Workers poll the committed version (``ModelCache``) and swap the
new model in without restarting.

In the embedded mode the same learner runs as a task in the API process; with
Redis, ``tactful learner`` runs it for every site.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from api.store import LabelStream, ModelRegistry, SiteConfigs, StoreUnavailable
from scoring import model_file
from scoring.blend import BlendedScorer, default_site_scorer
from scoring.labels import LabelJoiner, Outcome, TrainingExample
from scoring.quality import RollingQuality
from scoring.snapshot_store import MemorySnapshotStore


class LearningStore(LabelStream, ModelRegistry, SiteConfigs, Protocol):
    """The learner's: each site's label stream in, its model out, and the sites to learn for."""


log = logging.getLogger("tactful.learner")

RECORD_KINDS = ("decision", "shown", *(outcome.value for outcome in Outcome if outcome is not Outcome.IGNORED))


@dataclass
class LearnerState:
    """Everything a learner must carry across a restart."""

    scorer: BlendedScorer = field(default_factory=default_site_scorer)
    # Wall-clock TTLs: the joiner is pickled with the learner's state and read by the next process, maybe on
    # another machine, whose monotonic clock has another origin (its snapshots would all expire at once).
    joiner: LabelJoiner = field(default_factory=lambda: LabelJoiner(MemorySnapshotStore(time.time)))
    quality: RollingQuality = field(default_factory=RollingQuality)
    history: list[dict[str, Any]] = field(default_factory=list)
    """The learning curve: one point per commit that learned something, at most ``HISTORY_POINTS``."""


HISTORY_POINTS = 240


class Learner:
    def __init__(
        self, store: LearningStore, site: str, *, commit_every_s: float = 2.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.site = site
        self.commit_every_s = commit_every_s
        self._clock = clock
        self.state = LearnerState()
        self._uncommitted: list[str] = []
        self._dirty = False
        self._last_commit = 0.0

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def start(self) -> None:
        """Resume from the last commit, then redo what was handed out and not committed."""
        saved = await self.store.learner_state(self.site)
        if saved is not None:
            try:
                self.state = pickle.loads(saved)
            except (pickle.UnpicklingError, AttributeError, EOFError, TypeError, ValueError) as error:
                log.error("site %s: learner state unreadable (%s); starting from the prior", self.site, error)
        while pending := await self.store.read_labels(self.site, 500, 0, pending=True):
            fresh = [(record_id, record) for record_id, record in pending if record_id not in self._uncommitted]
            if not fresh:
                break
            self._take(fresh)

    def _take(self, records: list[tuple[str, dict[str, Any]]]) -> None:
        for record_id, record in records:
            self.handle(record)
            self._uncommitted.append(record_id)
        if records:
            self._dirty = True

    def handle(self, record: Mapping[str, Any]) -> list[TrainingExample]:
        """Apply one label record; returns what was learned from it."""
        kind, invite, ts = record.get("k"), str(record.get("invite", "")), int(record.get("ts", 0))
        joiner = self.state.joiner
        if kind == "decision":
            joiner.record_decision(
                invite,
                record["features"],
                model_version=int(record["model_version"]),
                score=float(record["score"]),
                now_ms=ts,
                propensity=float(record.get("propensity", 1.0)),
                explored=bool(record.get("explored", False)),
            )
            return []
        if kind == "shown":
            joiner.mark_shown(invite, ts)
            return []
        if kind in RECORD_KINDS:
            example = joiner.on_outcome(invite, Outcome(kind), ts)
            return self._learn([example] if example else [])
        log.warning("site %s: unknown label record kind %r ignored", self.site, kind)
        return []

    def _learn(self, examples: list[TrainingExample]) -> list[TrainingExample]:
        for example in examples:
            self.state.scorer.learn_one(example.features, example.label, example.weight)
            self.state.quality.record_example(example)
        if examples:
            self._dirty = True
        return examples

    def expire(self) -> list[TrainingExample]:
        """Invitations shown and neither accepted nor dismissed in time become weak negatives."""
        return self._learn(self.state.joiner.expire(self.now_ms()))

    def quality(self) -> dict[str, Any]:
        scorer = self.state.scorer
        counts = self.state.joiner.counts.as_dict()
        decisions = counts.get("decisions_explored", 0) + counts.get("decisions_regular", 0)
        model = scorer.model
        return self.state.quality.report(scorer.version) | {
            "labels": counts,
            "n_learned": scorer.n_learned,
            "model_weight": round(scorer.model_weight, 4),
            "committed_at_ms": self.now_ms(),
            "explored_share": round(counts.get("decisions_explored", 0) / decisions, 4) if decisions else None,
            "progressive_log_loss": scorer.progressive_losses(),
            "learned": model.learned() if hasattr(model, "learned") else None,
            "history": list(getattr(self.state, "history", [])),
        }

    def _remember(self) -> None:
        """One point of the learning curve; thinned to every other point when it grows past the bound."""
        scorer = self.state.scorer
        history = getattr(self.state, "history", None)
        if history is None:
            history = self.state.history = []
        if history and history[-1]["n_learned"] == scorer.n_learned:
            return
        history.append(
            {"at_ms": self.now_ms(), "n_learned": scorer.n_learned, "model_weight": round(scorer.model_weight, 4)}
            | {f"{name}_log_loss": loss for name, loss in scorer.progressive_losses().items()}
        )
        if len(history) > HISTORY_POINTS:
            del history[1:-1:2]

    async def commit(self) -> None:
        self._remember()
        scorer = self.state.scorer
        await self.store.commit_learning(
            self.site,
            model_file.dumps(scorer, self._clock()),
            pickle.dumps(self.state, protocol=pickle.HIGHEST_PROTOCOL),
            scorer.version,
            self.quality(),
            self._uncommitted,
        )
        self._uncommitted = []
        self._dirty = False
        self._last_commit = self._clock()

    async def step(self, block_ms: int = 500, stop: asyncio.Event | None = None) -> int:
        """Read and apply what arrived; commit when due. Returns the records applied.

        A stop interrupts the wait for records: records handed out and not yet applied stay
        pending in the store and are redone by the next start.
        """
        reading = asyncio.ensure_future(self.store.read_labels(self.site, 500, block_ms))
        if stop is not None:
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
                return 0
        records = await reading
        self._take(records)
        self.expire()
        due = self._clock() - self._last_commit >= self.commit_every_s
        if self._dirty and (due or len(self._uncommitted) >= 5000):
            await self.commit()
        return len(records)

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        while not stop.is_set():
            try:
                await self.step(stop=stop)
            except StoreUnavailable as error:
                log.warning("site %s: store unavailable, learner waits: %s", self.site, error)
                await asyncio.sleep(1.0)
        if self._dirty:
            with contextlib.suppress(StoreUnavailable):
                await self.commit()


class LearnerPool:
    """One learner per configured site, started as sites appear."""

    def __init__(self, store: LearningStore, *, commit_every_s: float = 2.0, poll_sites_s: float = 5.0) -> None:
        self.store = store
        self.commit_every_s = commit_every_s
        self.poll_sites_s = poll_sites_s
        self.learners: dict[str, Learner] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                for site in await self.store.list_sites():
                    if site not in self.learners:
                        learner = Learner(self.store, site, commit_every_s=self.commit_every_s)
                        self.learners[site] = learner
                        self._tasks.append(asyncio.create_task(learner.run(self._stop)))
            except StoreUnavailable as error:
                log.warning("learner pool: store unavailable: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll_sites_s)

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
