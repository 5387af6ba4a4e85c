"""The scorer contract, shaped like river's estimators.

Every scorer turns a visitor's feature dict into the probability that an
invitation shown now would be accepted. The contract is deliberately river's
(``predict_proba_one`` / ``learn_one``) so river models, the hand-written
prior and the blend are interchangeable, and one check suite
(``scoring.checks``) holds them all to the same behaviour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol, Self, runtime_checkable

Features = Mapping[str, float]
"""Feature name to value; names may appear or disappear between calls."""
Example = tuple[dict[str, float], bool]
"""A labelled row: a visitor's features at one moment, and whether an invitation shown then was accepted."""

PROBABILITY_FLOOR = 1e-6
"""Scores never reach exactly 0 or 1: log loss stays finite and odds stay defined."""


@runtime_checkable
class Scorer(Protocol):
    """What the API, the learner and the evaluator rely on."""

    def predict_proba_one(self, features: Features) -> float:
        """Probability in [0, 1]. Must not change the scorer (safe under concurrent reads)."""
        ...

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        """Learn one labelled example; ``weight`` scales its influence (importance weights)."""
        ...

    def clone(self) -> Self:
        """A fresh, unlearned scorer with the same parameters (river's meaning of clone)."""
        ...

    @property
    def n_learned(self) -> int:
        """How many examples this scorer has learned from (0 for scorers that do not learn)."""
        ...

    def explain(self, features: Features) -> list[str]:
        """Reason codes (``scoring.explanation``): the observed struggle signals that raised the score most,
        strongest first, at most three; empty when nothing did or the scorer cannot tell. Must not
        change the scorer."""
        ...

    def predict_and_explain(self, features: Features) -> tuple[float, list[str]]:
        """``(predict_proba_one(features), explain(features))``: every collect asks for both, and a
        scorer may give them in one pass."""
        ...


def logistic(z: float) -> float:
    """Sigmoid that neither overflows nor returns exactly 0 or 1."""
    if z != z:  # NaN: no evidence either way
        return 0.5
    if z >= 0:
        p = 1.0 / (1.0 + math.exp(-min(z, 700.0)))
    else:
        e = math.exp(max(z, -700.0))
        p = e / (1.0 + e)
    return clip_probability(p)


def clip_probability(p: float) -> float:
    """Bound a probability to [floor, 1 - floor], mapping NaN to 0.5."""
    if p != p:
        return 0.5
    return min(1.0 - PROBABILITY_FLOOR, max(PROBABILITY_FLOOR, p))


def signed_log1p(value: float) -> float:
    """log1p that accepts any finite float: counts and durations are unbounded and skewed.

    Huge values (a tab left open for a week, a bot clicking a million times)
    are compressed to at most ~710, so no downstream square or product can
    overflow. Negative values keep their sign rather than raising.
    """
    if value >= 0:
        return math.log1p(value)
    return -math.log1p(-value)
