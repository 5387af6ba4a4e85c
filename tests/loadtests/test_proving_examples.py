"""Labelled rows from the proving ground: the tracker's features of each visit, labelled by its truth."""

from __future__ import annotations

from loadtests.proving import START_MS, generate
from loadtests.proving.examples import RARE_MIX, base_rate, examples, rows
from tracker.features import FEATURES


def test_examples__same_seed__same_rows() -> None:
    assert examples(60, seed=4) == examples(60, seed=4)
    assert examples(60, seed=4) != examples(60, seed=5)


def test_rows__one_per_counted_visit__with_the_trackers_features() -> None:
    visits = generate(200, 8, START_MS)
    counted = sorted((visit for visit in visits if not visit.prelude), key=lambda visit: visit.arrive_ms)
    labelled = rows(visits, seed=8)
    assert len(labelled) == len(counted) == 200
    assert all(set(features) == set(FEATURES) for features, _ in labelled)
    for visit, (features, _) in zip(counted, labelled, strict=True):
        # a returning visitor's earlier visit was folded into their record first
        assert features["returning_visitor"] == float(visit.returning)
        assert features["sessions"] == (2.0 if visit.returning else 1.0)


def test_rows__labels__from_the_visits_truth() -> None:
    visits = generate(1500, 9, START_MS)
    counted = sorted((visit for visit in visits if not visit.prelude), key=lambda visit: visit.arrive_ms)
    labels = [label for _, label in rows(visits, seed=9)]
    wanted = [label for visit, label in zip(counted, labels, strict=True) if visit.wanted]
    others = [label for visit, label in zip(counted, labels, strict=True) if not visit.wanted]
    assert sum(wanted) / len(wanted) > 4 * sum(others) / len(others)
    struggled = [
        features["form_errors"] + features["rage_clicks"] + features["zero_result_searches"]
        for (features, label), visit in zip(rows(visits, seed=9), counted, strict=True)
        if label and visit.wanted
    ]
    assert sum(1 for signals in struggled if signals > 0) > len(struggled) / 2  # accepted while struggling


def test_examples__rare_mix__fewer_positives() -> None:
    assert base_rate(examples(2000, seed=3, mix=RARE_MIX)) < 0.7 * base_rate(examples(2000, seed=3))
