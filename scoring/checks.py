"""The check suite every scorer passes, in the spirit of river's ``check_estimator``.

``yield_checks(factory, sessions)`` yields named checks; ``tests/scoring`` parametrises
over every registered scorer times every check, so a new scorer is held to
the contract by adding one line to ``scoring.registry``. Checks raise
``AssertionError`` with a message that names what broke. ``sessions`` are
labelled rows (at least 400, a fair share of them positive), in the project
the proving ground's visitors folded through the tracker
(``loadtests.proving.examples``).
"""

from __future__ import annotations

import copy
import math
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from scoring.base import Example, Features, Scorer
from scoring.explanation import MAX_REASONS, REASON_OF
from scoring.measures import roc_auc

ScorerFactory = Callable[[], Scorer]
Sessions = Sequence[Example]
MIN_SESSIONS = 400

EXTREME_VALUES: tuple[float, ...] = (
    0.0,
    -0.0,
    1.0,
    -1.0,
    1e-300,
    -1e-300,
    5e-324,
    1e6,
    1e15,
    1e300,
    -1e300,
    sys.float_info.max,
    -sys.float_info.max,
)


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], None]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _learn(scorer: Scorer, examples: Sessions) -> None:
    for features, label in examples:
        scorer.learn_one(features, label)


def _valid(p: object, context: str) -> float:
    _expect(isinstance(p, float), f"{context}: expected a float, got {type(p).__name__}")
    assert isinstance(p, float)
    _expect(math.isfinite(p), f"{context}: non-finite probability {p!r}")
    _expect(0.0 <= p <= 1.0, f"{context}: probability {p!r} outside [0, 1]")
    return p


def check_predict_before_learning(factory: ScorerFactory, sessions: Sessions) -> None:
    scorer = factory()
    _expect(scorer.n_learned == 0, f"a new scorer reports n_learned={scorer.n_learned}")
    for features, _ in sessions[:20]:
        _valid(scorer.predict_proba_one(features), "before learning")
    _valid(scorer.predict_proba_one({}), "before learning, no features")


def check_features_appear_and_disappear(factory: ScorerFactory, sessions: Sessions) -> None:
    scorer = factory()
    names = sorted(sessions[0][0])
    for i, (features, label) in enumerate(sessions[:200]):
        # A sliding subset of names, plus names the scorer has never seen.
        kept = {name: value for k, (name, value) in enumerate(sorted(features.items())) if (k + i) % 3}
        kept[f"new_feature_{i % 7}"] = float(i)
        scorer.learn_one(kept, label)
        _valid(scorer.predict_proba_one(kept), f"after learning with subset {i}")
    _valid(scorer.predict_proba_one({}), "no features at all")
    _valid(scorer.predict_proba_one({"never_seen": 3.0}), "only an unseen feature")
    _valid(scorer.predict_proba_one({names[0]: 1.0}), "a single known feature")


def check_learn_counts(factory: ScorerFactory, sessions: Sessions) -> None:
    scorer = factory()
    _learn(scorer, sessions[:25])
    _expect(scorer.n_learned in (0, 25), f"n_learned={scorer.n_learned} after 25 learns, want 25 or 0")


def check_pickle_round_trip(factory: ScorerFactory, sessions: Sessions) -> None:
    scorer = factory()
    _learn(scorer, sessions[:150])
    restored = pickle.loads(pickle.dumps(scorer))
    _expect(restored.n_learned == scorer.n_learned, "n_learned differs after unpickling")
    for features, _ in sessions[150:250]:
        _expect(
            restored.predict_proba_one(features) == scorer.predict_proba_one(features),
            "unpickled scorer predicts differently",
        )
    # ... and keeps learning identically.
    _learn(scorer, sessions[250:300])
    _learn(restored, sessions[250:300])
    for features, _ in sessions[300:]:
        _expect(
            restored.predict_proba_one(features) == scorer.predict_proba_one(features),
            "unpickled scorer learns differently",
        )


def check_clone_independence(factory: ScorerFactory, sessions: Sessions) -> None:
    original = factory()
    _learn(original, sessions[:100])
    probe = [features for features, _ in sessions[300:340]]
    before = [original.predict_proba_one(x) for x in probe]
    twin = original.clone()
    _expect(twin.n_learned == 0, f"a clone should be unlearned, has n_learned={twin.n_learned}")
    fresh = factory()
    _expect(
        [twin.predict_proba_one(x) for x in probe] == [fresh.predict_proba_one(x) for x in probe],
        "a clone predicts differently from a fresh scorer",
    )
    _learn(twin, sessions[100:300])
    after = [original.predict_proba_one(x) for x in probe]
    _expect(after == before, "learning on a clone changed the original")
    twin_before = [twin.predict_proba_one(x) for x in probe]
    _learn(original, sessions[:50])
    twin_after = [twin.predict_proba_one(x) for x in probe]
    _expect(twin_after == twin_before, "learning on the original changed the clone")


def check_deterministic(factory: ScorerFactory, sessions: Sessions) -> None:
    first, second = factory(), factory()
    _learn(first, sessions[:200])
    _learn(second, sessions[:200])
    for features, _ in sessions[200:260]:
        _expect(
            first.predict_proba_one(features) == second.predict_proba_one(features),
            "two scorers fed the same stream disagree (hidden randomness?)",
        )


def check_finite_for_extreme_inputs(factory: ScorerFactory, sessions: Sessions) -> None:
    scorer = factory()
    names = sorted(sessions[0][0])
    extreme = [
        {name: EXTREME_VALUES[(k + i) % len(EXTREME_VALUES)] for k, name in enumerate(names)}
        for i in range(len(EXTREME_VALUES))
    ]
    for features in extreme:
        _valid(scorer.predict_proba_one(features), f"unlearned, extreme input {features[names[0]]!r}")
    _learn(scorer, sessions[:100])
    for i, features in enumerate(extreme):
        scorer.learn_one(features, i % 2 == 0, weight=10.0)
    _learn(scorer, sessions[100:150])
    for features in extreme + [x for x, _ in sessions[150:200]]:
        _valid(scorer.predict_proba_one(features), "after learning on extreme inputs")


def check_predict_does_not_mutate(factory: ScorerFactory, sessions: Sessions) -> None:
    scorer = factory()
    _learn(scorer, sessions[:100])
    state = pickle.dumps(scorer)
    probe: list[Features] = [x for x, _ in sessions[100:150]]
    probe += [{"unseen": 1.0}, {}]
    originals = copy.deepcopy(probe)
    first = [scorer.predict_proba_one(x) for x in probe]
    second = [scorer.predict_proba_one(x) for x in probe]
    _expect(first == second, "repeated predictions differ")
    _expect(probe == originals, "predict_proba_one modified its input")
    _expect(pickle.dumps(scorer) == state, "predict_proba_one changed the scorer's state")


def check_ranks_struggle(factory: ScorerFactory, sessions: Sessions) -> None:
    """Tested then trained on each session, the scorer ranks struggle clearly better than chance."""
    scorer = factory()
    scores, labels = [], []
    for features, label in sessions:
        scores.append(scorer.predict_proba_one(features))
        labels.append(label)
        scorer.learn_one(features, label)
    auc = roc_auc(scores, labels)
    _expect(auc is not None and auc > 0.55, f"progressive ROC AUC {auc} on struggle sessions, want > 0.55")


def check_explain(factory: ScorerFactory, sessions: Sessions) -> None:
    """Reasons are known codes of signals the visitor showed, at most three, and ``predict_and_explain``
    gives what the two calls give."""
    scorer = factory()
    _learn(scorer, sessions[:150])
    state = pickle.dumps(scorer)
    for features, _ in sessions[150:250]:
        reasons = scorer.explain(features)
        _expect(
            isinstance(reasons, list) and all(isinstance(code, str) for code in reasons),
            f"explain returned {reasons!r}, want a list of reason codes",
        )
        _expect(len(reasons) <= MAX_REASONS, f"explain gave {len(reasons)} reasons, at most {MAX_REASONS}")
        shown = {REASON_OF[name] for name, value in features.items() if name in REASON_OF and value > 0}
        _expect(set(reasons) <= shown, f"explain named {sorted(set(reasons) - shown)}, which the visitor never showed")
        score, fused = scorer.predict_and_explain(features)
        _expect(
            score == scorer.predict_proba_one(features) and fused == reasons,
            "predict_and_explain differs from predict_proba_one and explain",
        )
    _expect(scorer.explain({}) == [], "reasons for a visitor with no features at all")
    _expect(pickle.dumps(scorer) == state, "explain changed the scorer's state")


ALL_CHECKS: tuple[Callable[[ScorerFactory, Sessions], None], ...] = (
    check_predict_before_learning,
    check_features_appear_and_disappear,
    check_learn_counts,
    check_pickle_round_trip,
    check_clone_independence,
    check_deterministic,
    check_finite_for_extreme_inputs,
    check_predict_does_not_mutate,
    check_ranks_struggle,
    check_explain,
)


def yield_checks(factory: ScorerFactory, sessions: Sessions) -> Iterator[Check]:
    """Every check, bound to ``factory`` and ``sessions``, named after its function (without ``check_``)."""
    if len(sessions) < MIN_SESSIONS:
        raise ValueError(f"the checks need at least {MIN_SESSIONS} labelled sessions, got {len(sessions)}")
    rows = tuple(sessions)
    for check in ALL_CHECKS:
        yield Check(check.__name__.removeprefix("check_"), lambda check=check: check(factory, rows))  # type: ignore[misc]
