"""Exact metrics and the rolling live-quality window."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.labels import Outcome
from scoring.measures import calibration_error, log_loss, roc_auc
from scoring.quality import RollingQuality


def brute_force_auc(scores: list[float], labels: list[bool]) -> float:
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    negatives = [s for s, y in zip(scores, labels, strict=True) if not y]
    pairs = list(itertools.product(positives, negatives))
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


TIED_SCORES = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])


@given(st.lists(st.tuples(TIED_SCORES, st.booleans()), min_size=2, max_size=40))
def test_roc_auc__with_ties__equals_pairwise_count(rows: list[tuple[float, bool]]) -> None:
    scores, labels = [s for s, _ in rows], [y for _, y in rows]
    if all(labels) or not any(labels):
        assert roc_auc(scores, labels) is None
    else:
        assert roc_auc(scores, labels) == pytest.approx(brute_force_auc(scores, labels))


def test_roc_auc__perfect_and_reversed() -> None:
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0


def test_log_loss__known_value_and_clipped_miss() -> None:
    assert log_loss([0.5, 0.5], [True, False]) == pytest.approx(math.log(2))
    miss = log_loss([0.0], [True])
    assert miss is not None and math.isfinite(miss) and miss > 10


def test_calibration_error__calibrated_vs_overconfident() -> None:
    rng = random.Random(0)
    scores = [rng.random() for _ in range(20_000)]
    labels = [rng.random() < s for s in scores]
    assert calibration_error(scores, labels) == pytest.approx(0.0, abs=0.02)
    assert calibration_error([0.9] * 100, [True] * 50 + [False] * 50) == pytest.approx(0.4)


def test_quality__empty__nones_not_errors() -> None:
    report = RollingQuality().report(model_version=0)
    assert report["labels"] == 0 and report["roc_auc"] is None and report["log_loss"] is None


def test_quality__window_bounded__oldest_labels_dropped() -> None:
    quality = RollingQuality(window=3)
    for k, (score, label) in enumerate([(0.9, False), (0.1, True), (0.2, False), (0.8, True), (0.7, True)]):
        quality.record(f"i_{k}", score, label, Outcome.ACCEPTED if label else Outcome.DISMISSED)
    report = quality.report(model_version=5)
    assert (report["labels"], report["positives"], report["negatives"]) == (3, 2, 1)
    assert report["roc_auc"] == 1.0  # the two early mis-ranked labels have left the window
    assert report["model_version"] == 5 and report["by_outcome"]["accepted"] == 2


def test_quality__correction_for_same_invite__replaces_not_adds() -> None:
    quality = RollingQuality()
    quality.record("i_1", 0.3, False, Outcome.IGNORED)
    quality.record("i_1", 0.3, True, Outcome.ACCEPTED)
    report = quality.report(model_version=1)
    assert (report["labels"], report["positives"]) == (1, 1)
    assert report["by_outcome"]["ignored"] == 0
