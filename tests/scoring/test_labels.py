"""Delayed labels: joined to the decision-time snapshot, learned once, corrected by verdicts."""

from __future__ import annotations

import pickle
import time
from collections import OrderedDict
from dataclasses import replace

import pytest

from scoring.blend import default_site_scorer
from scoring.labels import LabelJoiner, LabelPolicy, Outcome, TrainingExample
from scoring.snapshot_store import DecisionSnapshot, MemorySnapshotStore

T0 = 1_764_000_000_000
STRUGGLING = {
    "form_errors": 4.0,
    "recent_form_errors": 3.5,
    "failed_submits": 3.0,
    "repeated_submits": 2.0,
    "struggle_kinds": 2.0,
    "time_on_site_s": 95.0,
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def joiner(policy: LabelPolicy | None = None) -> LabelJoiner:
    return LabelJoiner(MemorySnapshotStore(time.monotonic), policy)


def decide(j: LabelJoiner, invite: str = "i_1", propensity: float = 1.0, at: int = T0, explored: bool = False) -> None:
    j.record_decision(
        invite, STRUGGLING, model_version=7, score=0.42, now_ms=at, propensity=propensity, explored=explored
    )


def test_joiner__outcome_after_features_changed__learns_decision_time_snapshot() -> None:
    j = joiner()
    live = dict(STRUGGLING)
    j.record_decision("i_1", live, model_version=3, score=0.4, now_ms=T0)
    live["form_errors"] = 99.0  # the session moves on after the decision
    example = j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 20_000)
    assert example is not None
    assert example.features == STRUGGLING
    assert (example.label, example.weight, example.model_version, example.score) == (True, 1.0, 3, 0.4)


def test_joiner__duplicate_outcome__learned_once() -> None:
    j = joiner()
    decide(j)
    first = j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 1000)
    again = j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 2000)
    conflicting = j.on_outcome("i_1", Outcome.DISMISSED, T0 + 3000)
    assert first is not None and again is None and conflicting is None
    assert j.counts.examples == 1 and j.counts.duplicates == 2


def test_joiner__dismissed__label_zero_full_weight() -> None:
    j = joiner()
    decide(j)
    example = j.on_outcome("i_1", Outcome.DISMISSED, T0 + 1000)
    assert example is not None and (example.label, example.weight) == (False, 1.0)


def test_joiner__shown_and_no_outcome_within_window__ignored_with_low_weight() -> None:
    j = joiner(LabelPolicy(ignore_window_s=60, ignored_weight=0.3))
    decide(j)
    j.mark_shown("i_1", T0 + 1000)
    assert j.expire(T0 + 60_999) == []
    [example] = j.expire(T0 + 61_000)
    assert (example.label, example.weight, example.outcome) == (False, 0.3, Outcome.IGNORED)
    assert j.expire(T0 + 200_000) == []


def test_joiner__accepted_within_window__no_ignore_label_later() -> None:
    j = joiner()
    decide(j)
    j.mark_shown("i_1", T0)
    assert j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 5000) is not None
    assert j.expire(T0 + 120_000) == []


def test_joiner__never_shown__no_ignore_label() -> None:
    j = joiner()
    decide(j)
    assert j.expire(T0 + 3_600_000) == []


def test_joiner__late_accept_after_ignore__correction_outweighs_the_ignore() -> None:
    j = joiner()
    decide(j)
    j.mark_shown("i_1", T0)
    j.expire(T0 + 61_000)
    example = j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 90_000)
    assert example is not None
    assert example.label is True and example.correction
    assert example.weight == pytest.approx(1.0 + 0.3)
    assert j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 95_000) is None


def test_joiner__late_dismiss_after_ignore__tops_up_to_full_weight() -> None:
    j = joiner()
    decide(j)
    j.mark_shown("i_1", T0)
    j.expire(T0 + 61_000)
    example = j.on_outcome("i_1", Outcome.DISMISSED, T0 + 90_000)
    assert example is not None and example.label is False and not example.correction
    assert example.weight == pytest.approx(0.7)


def test_joiner__verdict_not_stuck_after_accept__overrides_as_correction() -> None:
    j = joiner()
    decide(j)
    j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 1000)
    example = j.on_outcome("i_1", Outcome.VERDICT_NOT_STUCK, T0 + 600_000)
    assert example is not None
    assert (example.label, example.correction, example.weight) == (False, True, 2.0)
    assert j.on_outcome("i_1", Outcome.VERDICT_STUCK, T0 + 700_000) is None  # the verdict closes it


def test_joiner__verdict_agrees_with_accept__nothing_new_learned() -> None:
    j = joiner()
    decide(j)
    j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 1000)
    assert j.on_outcome("i_1", Outcome.VERDICT_STUCK, T0 + 600_000) is None
    assert j.counts.examples == 1


def test_joiner__verdict_stuck_after_ignore__correction() -> None:
    j = joiner()
    decide(j)
    j.on_outcome("i_1", Outcome.IGNORED, T0 + 61_000)
    example = j.on_outcome("i_1", Outcome.VERDICT_STUCK, T0 + 600_000)
    assert example is not None and example.label is True and example.correction


def test_joiner__unknown_invite__unmatched_counted() -> None:
    j = joiner()
    assert j.on_outcome("i_nope", Outcome.ACCEPTED, T0) is None
    assert j.counts.unmatched == 1


def test_joiner__explored_invitation__importance_weight_clipped() -> None:
    j = joiner(LabelPolicy(max_importance_weight=10.0))
    decide(j, "i_explore_a", propensity=0.25, explored=True)
    decide(j, "i_explore_b", propensity=0.01, explored=True)
    decide(j, "i_regular", propensity=0.9)  # a holdout makes it < 1: still not exploration
    a = j.on_outcome("i_explore_a", Outcome.ACCEPTED, T0 + 1)
    b = j.on_outcome("i_explore_b", Outcome.DISMISSED, T0 + 1)
    c = j.on_outcome("i_regular", Outcome.ACCEPTED, T0 + 1)
    assert a is not None and b is not None and c is not None
    assert (a.weight, b.weight, round(c.weight, 6)) == (4.0, 10.0, round(1 / 0.9, 6))
    assert (j.counts.decisions_explored, j.counts.decisions_regular) == (2, 1)


def test_joiner__explored_ignore__weights_multiply() -> None:
    j = joiner()
    decide(j, propensity=0.5)
    [example] = [e for e in [j.on_outcome("i_1", Outcome.IGNORED, T0 + 61_000)] if e]
    assert example.weight == pytest.approx(0.3 * 2.0)


@pytest.mark.parametrize("propensity", [0.0, -0.1, 1.5])
def test_joiner__invalid_propensity__rejected(propensity: float) -> None:
    with pytest.raises(ValueError, match="propensity"):
        decide(joiner(), propensity=propensity)


@pytest.mark.parametrize("field", ["ignore_window_s", "ignored_weight", "snapshot_ttl_s"])
def test_label_policy__non_positive_value__names_the_field(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        LabelPolicy(**{field: 0.0})


def test_joiner__snapshot_expired__outcome_unmatched() -> None:
    clock = FakeClock()
    j = LabelJoiner(MemorySnapshotStore(clock=clock), LabelPolicy(snapshot_ttl_s=60))
    decide(j)
    clock.now += 61
    assert j.on_outcome("i_1", Outcome.ACCEPTED, T0 + 61_000) is None
    assert j.counts.unmatched == 1


def test_joiner__counts__json_ready() -> None:
    j = joiner()
    decide(j)
    j.on_outcome("i_1", Outcome.DISMISSED, T0)
    counts = j.counts.as_dict()
    assert counts["by_outcome"]["dismissed"] == 1 and counts["decisions_regular"] == 1


def test_joiner__examples_feed_the_site_scorer__score_moves_towards_outcomes() -> None:
    j = joiner()
    scorer = default_site_scorer(handover=5)
    before = scorer.predict_proba_one(STRUGGLING)
    calm_before = scorer.predict_proba_one({"time_on_site_s": 40.0, "pages_viewed": 1.0})
    examples: list[TrainingExample] = []
    for k in range(60):
        invite = f"i_{k}"
        calm = {"time_on_site_s": 20.0 + k, "pages_viewed": 1.0}
        features = STRUGGLING if k % 2 else calm
        j.record_decision(
            invite, features, model_version=scorer.version, score=scorer.predict_proba_one(features), now_ms=T0
        )
        example = j.on_outcome(invite, Outcome.ACCEPTED if k % 2 else Outcome.DISMISSED, T0 + 1000)
        assert example is not None
        examples.append(example)
    for example in examples:
        scorer.learn_one(example.features, example.label, example.weight)
    assert scorer.version == 60
    # The model's raise is bounded (scoring/correction.py), its sharpening is not: the struggling
    # visitor's score rises, the calm one's falls, and the gap between them widens.
    after = scorer.predict_proba_one(STRUGGLING)
    calm_score = scorer.predict_proba_one({"time_on_site_s": 40.0, "pages_viewed": 1.0})
    assert after > before and calm_score < calm_before
    assert after - calm_score > 2 * (before - calm_before)


def test_memory_store__over_capacity__oldest_evicted() -> None:
    store = MemorySnapshotStore(time.monotonic, max_items=2)
    for invite in ("a", "b", "c"):
        store.put(DecisionSnapshot(invite, {}, 0, 0.1, T0), ttl_s=60)
    assert store.get("a") is None and store.get("b") is not None and store.get("c") is not None
    assert len(store) == 2


def test_memory_store__ttl_passed__gone() -> None:
    clock = FakeClock()
    store = MemorySnapshotStore(clock=clock)
    store.put(DecisionSnapshot("a", {}, 0, 0.1, T0), ttl_s=10)
    clock.now += 9.9
    assert store.get("a") is not None
    clock.now += 0.2
    assert store.get("a") is None


def test_memory_store__delete__gone() -> None:
    store = MemorySnapshotStore(time.monotonic)
    store.put(DecisionSnapshot("a", {}, 0, 0.1, T0), ttl_s=10)
    store.delete("a")
    store.delete("a")
    assert store.get("a") is None


def test_memory_store__pickled_and_loaded__same_snapshots_in_the_same_order_and_ttls() -> None:
    """What the learner's commit writes and a restart reads: every snapshot, its features exact."""
    clock = FakeClock()
    store = MemorySnapshotStore(clock=clock, max_items=10)
    kept = [
        DecisionSnapshot("a", {"rage_clicks": 2.0, "page=checkout": 1.0, "time_on_site_s": 61.25}, 3, 0.71, T0),
        replace(DecisionSnapshot("b", {}, 4, 0.2, T0 + 5, propensity=0.5, explored=True), final=True),
        DecisionSnapshot("c", {"cart_value": 1e-9, "form_errors": 1.0}, 4, 0.3, T0 + 9, shown_ms=T0 + 10),
    ]
    for index, snapshot in enumerate(kept):
        store.put(snapshot, ttl_s=10 + index)
    loaded = pickle.loads(pickle.dumps(store, protocol=pickle.HIGHEST_PROTOCOL))
    assert [loaded.get(s.invite) for s in kept] == kept and len(loaded) == 3
    first = loaded.get("a")
    assert first is not None and list(first.features) == ["rage_clicks", "page=checkout", "time_on_site_s"]
    restored_clock = loaded._clock  # the clock travels with the store (the learner's is time.time)
    assert isinstance(restored_clock, FakeClock)
    restored_clock.now += 10.5
    assert loaded.get("a") is None and loaded.get("b") == kept[1]
    loaded.put(DecisionSnapshot("d", {}, 5, 0.4, T0), ttl_s=60)
    assert len(loaded) == 3


def test_memory_store__pickled_before_the_packed_form__still_loads() -> None:
    """A learner state committed by an earlier release holds the store's attributes as they were."""
    clock = FakeClock()
    snapshot = DecisionSnapshot("a", {"rage_clicks": 2.0}, 3, 0.71, T0)
    store = MemorySnapshotStore.__new__(MemorySnapshotStore)
    store.__setstate__({"max_items": 5, "_clock": clock, "_entries": OrderedDict(a=(clock.now + 10, snapshot))})
    assert store.get("a") == snapshot and store.max_items == 5
    assert pickle.loads(pickle.dumps(store)).get("a") == snapshot


def test_decision_snapshot__dict_round_trip__equal() -> None:
    snapshot = DecisionSnapshot("a", {"x": 1.5}, 4, 0.2, T0, propensity=0.1, shown_ms=T0 + 5, explored=True)
    assert DecisionSnapshot.from_dict(snapshot.as_dict()) == snapshot
    assert snapshot.explored


def test_learner_quality__learning_curve_and_true_exploration_share() -> None:
    import asyncio

    from api.learning.learner import Learner
    from api.store import MemoryStore

    async def scenario() -> dict[str, object]:
        clock = [1_764_000_000.0]
        learner = Learner(MemoryStore(), "shop", clock=lambda: clock[0])
        for k in range(30):
            learner.handle(
                {
                    "k": "decision",
                    "invite": f"i_{k:06d}",
                    "features": STRUGGLING,
                    "model_version": 0,
                    "score": 0.4,
                    "propensity": 0.9,
                    "explored": k % 10 == 0,
                    "ts": T0,
                }
            )
            learner.handle({"k": "accepted" if k % 2 else "dismissed", "invite": f"i_{k:06d}", "ts": T0 + 1})
            if k % 10 == 9:
                clock[0] += 5
                learner._remember()
        return learner.quality()

    quality = asyncio.run(scenario())
    assert quality["explored_share"] == 0.1  # 3 of 30, though every propensity was 0.9 (a holdout)
    history = quality["history"]
    assert isinstance(history, list) and [point["n_learned"] for point in history] == [10, 20, 30]
    losses = quality["progressive_log_loss"]
    assert isinstance(losses, dict) and losses["prior"] is not None and losses["model"] is not None
