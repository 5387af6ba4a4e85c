"""What the model learns: invitation outcomes joined to the features seen at decision time.

The label is "an invitation shown now would be accepted". The outcome arrives
seconds to minutes after the decision, when the visitor's features have moved
on, so the decision's exact feature snapshot (with the model version and the
score it produced) is kept under the invite id, and the outcome is learned
from that snapshot.

| outcome | label | base weight |
|---|---|---|
| ``accepted`` | 1 | 1.0 |
| ``dismissed`` | 0 | 1.0 |
| ``ignored``: shown, neither within ``ignore_window_s`` (60 s) | 0 | ``ignored_weight`` (0.3) |
| agent verdict "stuck" / "not stuck" | 1 / 0 | ``verdict_weight`` (1.0) |

An ignore is weak evidence (the visitor may not have seen it), hence 0.3.
Every weight is multiplied by the invitation's importance weight
``min(1 / propensity, max_importance_weight)``: an invitation shown by
exploration with probability 0.05 stands for the ~20 similar visitors who were
not invited (clipped at 10 to bound the variance).

Each invitation is learned once. Duplicates return nothing. Two outcomes may
*correct* an earlier label, because river models cannot unlearn:

- after an ``ignored`` (inferred), a late ``accepted`` or a verdict is
  evidence: it is learned with its own weight plus the weight already learned
  with the wrong label, so the net pull is towards the new label; a late
  ``dismissed`` agrees and tops the weight up to a full dismissal;
- an agent's verdict overrides ``accepted``/``dismissed`` when it disagrees,
  the same way (verdict weight + earlier weight); when it agrees, nothing new
  is learned. After a verdict, the invitation is closed.

Conflicting ``accepted`` and ``dismissed`` for one invitation: the first wins.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from scoring.snapshot_store import DecisionSnapshot, SnapshotStore


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    IGNORED = "ignored"
    VERDICT_STUCK = "verdict_stuck"
    VERDICT_NOT_STUCK = "verdict_not_stuck"


_VERDICTS = (Outcome.VERDICT_STUCK, Outcome.VERDICT_NOT_STUCK)
_LABEL = {
    Outcome.ACCEPTED: True,
    Outcome.DISMISSED: False,
    Outcome.IGNORED: False,
    Outcome.VERDICT_STUCK: True,
    Outcome.VERDICT_NOT_STUCK: False,
}


@dataclass(frozen=True)
class LabelPolicy:
    """The labelling knobs, validated once."""

    ignore_window_s: float = 60.0
    ignored_weight: float = 0.3
    verdict_weight: float = 1.0
    max_importance_weight: float = 10.0
    snapshot_ttl_s: float = 6 * 3600.0
    """Long enough for a chat to end and the agent to give a verdict."""

    def __post_init__(self) -> None:
        for name in ("ignore_window_s", "ignored_weight", "verdict_weight", "snapshot_ttl_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"LabelPolicy.{name} must be positive, got {getattr(self, name)!r}")
        if not self.max_importance_weight >= 1:
            value = self.max_importance_weight
            raise ValueError(f"LabelPolicy.max_importance_weight must be >= 1, got {value!r}")

    def base_weight(self, outcome: Outcome) -> float:
        if outcome is Outcome.IGNORED:
            return self.ignored_weight
        return self.verdict_weight if outcome in _VERDICTS else 1.0

    def importance_weight(self, propensity: float) -> float:
        return min(1.0 / propensity, self.max_importance_weight)


@dataclass(frozen=True)
class TrainingExample:
    """One thing to learn: ``scorer.learn_one(example.features, example.label, example.weight)``."""

    invite: str
    features: Mapping[str, float]
    label: bool
    weight: float
    outcome: Outcome
    model_version: int
    score: float
    """The score served at decision time: what live quality is measured on."""
    correction: bool = False


@dataclass
class JoinCounts:
    """Exploration and labelling bookkeeping, exposed to the dashboard."""

    decisions_regular: int = 0
    decisions_explored: int = 0
    examples: int = 0
    corrections: int = 0
    duplicates: int = 0
    unmatched: int = 0
    by_outcome: dict[str, int] = field(default_factory=lambda: {outcome.value: 0 for outcome in Outcome})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LabelJoiner:
    """Joins outcomes to decision snapshots and yields each invitation's training example once.

    Pure apart from the store: every method takes ``now_ms``. Ignore timeouts
    are tracked in this process (a heap of shown invitations); with Redis the
    single-writer learner owns the joiner, and a restart forgets pending
    timeouts, costing at most a minute of weak negative labels.
    """

    def __init__(self, store: SnapshotStore, policy: LabelPolicy | None = None, max_pending: int = 100_000) -> None:
        self.store = store
        self.policy = policy or LabelPolicy()
        self.counts = JoinCounts()
        self._pending: list[tuple[int, str]] = []  # (ignore deadline ms, invite)
        self._max_pending = max_pending

    def _ttl_left_s(self, snapshot: DecisionSnapshot, now_ms: int) -> float:
        return max(1.0, self.policy.snapshot_ttl_s - (now_ms - snapshot.decided_ms) / 1000)

    def record_decision(
        self,
        invite: str,
        features: Mapping[str, float],
        *,
        model_version: int,
        score: float,
        now_ms: int,
        propensity: float = 1.0,
        explored: bool = False,
    ) -> DecisionSnapshot:
        """Keep what the model saw when it invited; ``explored``: invited below the threshold."""
        if not 0.0 < propensity <= 1.0:
            raise ValueError(f"propensity must be in (0, 1], got {propensity!r}")
        snapshot = DecisionSnapshot(
            invite=invite,
            features={name: float(value) for name, value in features.items()},
            model_version=model_version,
            score=score,
            decided_ms=now_ms,
            propensity=propensity,
            explored=explored,
        )
        self.store.put(snapshot, self.policy.snapshot_ttl_s)
        if snapshot.explored:
            self.counts.decisions_explored += 1
        else:
            self.counts.decisions_regular += 1
        return snapshot

    def mark_shown(self, invite: str, now_ms: int) -> None:
        """The widget displayed the invitation: start the ignore window."""
        snapshot = self.store.get(invite)
        if snapshot is None or snapshot.shown_ms is not None:
            return
        self.store.put(replace(snapshot, shown_ms=now_ms), self._ttl_left_s(snapshot, now_ms))
        deadline = now_ms + int(self.policy.ignore_window_s * 1000)
        if len(self._pending) >= self._max_pending:
            heapq.heappop(self._pending)  # the oldest deadline: lose one weak label, not memory
        heapq.heappush(self._pending, (deadline, invite))

    def expire(self, now_ms: int) -> list[TrainingExample]:
        """``ignored`` examples for shown invitations whose window has passed with no outcome."""
        examples: list[TrainingExample] = []
        while self._pending and self._pending[0][0] <= now_ms:
            _, invite = heapq.heappop(self._pending)
            snapshot = self.store.get(invite)
            if snapshot is not None and snapshot.learned_label is None:
                example = self.on_outcome(invite, Outcome.IGNORED, now_ms)
                if example is not None:
                    examples.append(example)
        return examples

    def on_outcome(self, invite: str, outcome: Outcome, now_ms: int) -> TrainingExample | None:
        """The training example this outcome adds, or None (duplicate, confirmed, unknown or expired)."""
        snapshot = self.store.get(invite)
        if snapshot is None:
            self.counts.unmatched += 1
            return None
        label = _LABEL[outcome]
        iw = self.policy.importance_weight(snapshot.propensity)
        weight = self.policy.base_weight(outcome) * iw
        correction = False
        if snapshot.closed:
            self.counts.duplicates += 1
            return None
        if snapshot.learned_label is None:
            pass  # the first label for this invitation
        elif outcome is Outcome.IGNORED or (snapshot.final and outcome not in _VERDICTS):
            self.counts.duplicates += 1
            return None
        elif label == snapshot.learned_label:
            weight -= snapshot.learned_weight  # a top-up to this outcome's full weight, if any
            if weight <= 1e-12:
                self.store.put(
                    replace(snapshot, final=True, closed=outcome in _VERDICTS), self._ttl_left_s(snapshot, now_ms)
                )
                self.counts.duplicates += 1
                return None
        else:
            weight += snapshot.learned_weight  # outvote the earlier, wrong label
            correction = True
        self.store.put(
            replace(
                snapshot,
                learned_label=label,
                learned_weight=self.policy.base_weight(outcome) * iw,  # what now stands behind the label
                final=outcome is not Outcome.IGNORED,
                closed=outcome in _VERDICTS,
            ),
            self._ttl_left_s(snapshot, now_ms),
        )
        self.counts.examples += 1
        self.counts.corrections += correction
        self.counts.by_outcome[outcome.value] += 1
        return TrainingExample(
            invite=invite,
            features=snapshot.features,
            label=label,
            weight=weight,
            outcome=outcome,
            model_version=snapshot.model_version,
            score=snapshot.score,
            correction=correction,
        )
