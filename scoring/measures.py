"""Exact, dependency-free quality metrics shared by evaluation and live quality.

River's ``ROCAUC`` is an approximation over a fixed number of thresholds; for
model selection and the dashboard we want the exact value, computed by rank
(Mann-Whitney U with ties sharing their average rank).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scoring.base import clip_probability

CALIBRATION_BINS = 10


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Probability that a random positive outranks a random negative; None without both classes."""
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1  # ranks are 1-based
        rank_sum += average_rank * sum(1 for k in order[start : end + 1] if labels[k])
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def log_loss(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Mean negative log-likelihood, probabilities clipped so one confident miss stays finite."""
    if not scores:
        return None
    total = 0.0
    for score, label in zip(scores, labels, strict=True):
        p = clip_probability(score)
        total -= math.log(p if label else 1.0 - p)
    return total / len(scores)


def calibration_error(scores: Sequence[float], labels: Sequence[bool], bins: int = CALIBRATION_BINS) -> float | None:
    """Expected calibration error: |mean score - positive rate| per equal-width bin, weighted by bin size."""
    if not scores:
        return None
    counts = [0] * bins
    score_sums = [0.0] * bins
    positive_counts = [0] * bins
    for score, label in zip(scores, labels, strict=True):
        index = min(bins - 1, max(0, int(score * bins)))
        counts[index] += 1
        score_sums[index] += score
        positive_counts[index] += bool(label)
    return sum(abs(score_sums[b] - positive_counts[b]) for b in range(bins) if counts[b]) / len(scores)
