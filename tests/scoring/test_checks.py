"""Every registered scorer passes every check; and the checks catch broken scorers."""

from __future__ import annotations

import math
import pickle
from typing import Self

import pytest

from loadtests.proving.examples import examples
from scoring.base import Features
from scoring.checks import (
    check_clone_independence,
    check_explain,
    check_finite_for_extreme_inputs,
    check_pickle_round_trip,
    check_predict_does_not_mutate,
    check_ranks_struggle,
    yield_checks,
)
from scoring.model import OnlineLogistic
from scoring.registry import SCORERS

SESSIONS = tuple(examples(400, seed=7))
"""The proving ground's visitors folded through the tracker, labelled by their truth."""
CASES = [(name, check) for name, factory in SCORERS.items() for check in yield_checks(factory, SESSIONS)]


@pytest.mark.parametrize(("scorer", "check"), CASES, ids=[f"{name}-{check.name}" for name, check in CASES])
def test_scorer__passes_check(scorer: str, check: object) -> None:
    check.run()  # type: ignore[attr-defined]


def test_yield_checks__names_are_unique_and_cover_the_contract() -> None:
    names = [check.name for check in yield_checks(OnlineLogistic, SESSIONS)]
    assert len(names) == len(set(names))
    for required in (
        "predict_before_learning",
        "features_appear_and_disappear",
        "pickle_round_trip",
        "clone_independence",
        "finite_for_extreme_inputs",
        "predict_does_not_mutate",
        "explain",
    ):
        assert required in names


class _Counting:
    """A tiny honest scorer that the broken variants below each break in one way."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.positives = 1.0
        self.total = 2.0
        self._n = 0

    @property
    def n_learned(self) -> int:
        return self._n

    def clone(self) -> Self:
        return type(self)()

    def predict_proba_one(self, features: Features) -> float:
        return self.positives / self.total

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        self.positives += label
        self.total += 1
        self._n += 1

    def explain(self, features: Features) -> list[str]:
        return []

    def predict_and_explain(self, features: Features) -> tuple[float, list[str]]:
        return self.predict_proba_one(features), self.explain(features)


class _BlamesRageAlways(_Counting):
    """Names rage clicks whether or not the visitor raged."""

    def explain(self, features: Features) -> list[str]:
        return ["rage_clicks"]


class _FusedDisagrees(_Counting):
    def explain(self, features: Features) -> list[str]:
        return ["form_errors"] if features.get("form_errors", 0) > 0 else []

    def predict_and_explain(self, features: Features) -> tuple[float, list[str]]:
        return self.predict_proba_one(features), []


class _MutatesOnPredict(_Counting):
    def predict_proba_one(self, features: Features) -> float:
        self.seen.update(features)
        return super().predict_proba_one(features)


class _NaNOnHugeInput(_Counting):
    def predict_proba_one(self, features: Features) -> float:
        return math.nan if any(abs(v) > 1e200 for v in features.values()) else 0.5


class _SharedStateClone(_Counting):
    def clone(self) -> Self:
        return self


class _Unpicklable(_Counting):
    def __init__(self) -> None:
        super().__init__()
        self.callback = lambda: None


def test_yield_checks__too_few_sessions__refused() -> None:
    with pytest.raises(ValueError, match="at least 400"):
        list(yield_checks(OnlineLogistic, SESSIONS[:50]))


def test_check_predict_does_not_mutate__mutating_scorer__fails() -> None:
    with pytest.raises(AssertionError, match="changed the scorer's state"):
        check_predict_does_not_mutate(_MutatesOnPredict, SESSIONS)


def test_check_finite__nan_on_huge_input__fails() -> None:
    with pytest.raises(AssertionError, match="non-finite"):
        check_finite_for_extreme_inputs(_NaNOnHugeInput, SESSIONS)


def test_check_clone_independence__clone_shares_state__fails() -> None:
    with pytest.raises(AssertionError, match="clone"):
        check_clone_independence(_SharedStateClone, SESSIONS)


def test_check_pickle_round_trip__unpicklable_scorer__fails() -> None:
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError), match=r"pickle|lambda"):
        check_pickle_round_trip(_Unpicklable, SESSIONS)


def test_check_ranks_struggle__constant_scorer__fails() -> None:
    with pytest.raises(AssertionError, match="ROC AUC"):
        check_ranks_struggle(_Counting, SESSIONS)


def test_check_explain__names_a_signal_never_shown__fails() -> None:
    check_explain(_Counting, SESSIONS)  # no reasons at all is allowed
    with pytest.raises(AssertionError, match="never showed"):
        check_explain(_BlamesRageAlways, SESSIONS)


def test_check_explain__fused_call_disagrees__fails() -> None:
    with pytest.raises(AssertionError, match="predict_and_explain differs"):
        check_explain(_FusedDisagrees, SESSIONS)
