"""Live model quality over the most recent labels, for the dashboard.

Each label is scored with the probability that was *served* at decision time
(``TrainingExample.score``), so the figures say how good the invitations
actually were, not how well the model fits after learning. The window is
bounded and keyed by invite: a correction replaces that invitation's earlier
label instead of counting twice. Metrics are unweighted (an ignored
invitation counts as one negative), which is what "of the invitations we
showed" means to a reader.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from scoring.labels import Outcome, TrainingExample
from scoring.measures import CALIBRATION_BINS, calibration_error, log_loss, roc_auc

DEFAULT_WINDOW = 2000


class RollingQuality:
    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        self.window = window
        self._labels: OrderedDict[str, tuple[float, bool, Outcome]] = OrderedDict()
        self.total_recorded = 0

    def __len__(self) -> int:
        return len(self._labels)

    def record(self, invite: str, score: float, label: bool, outcome: Outcome) -> None:
        self._labels.pop(invite, None)
        self._labels[invite] = (score, label, outcome)
        self.total_recorded += 1
        while len(self._labels) > self.window:
            self._labels.popitem(last=False)

    def record_example(self, example: TrainingExample) -> None:
        self.record(example.invite, example.score, example.label, example.outcome)

    def report(self, model_version: int) -> dict[str, Any]:
        """A JSON-ready dict; metrics are None until both classes are present (AUC) or any label."""
        entries = list(self._labels.values())
        scores = [score for score, _, _ in entries]
        labels = [label for _, label, _ in entries]
        positives = sum(labels)
        by_outcome = {outcome.value: 0 for outcome in Outcome}
        for _, _, outcome in entries:
            by_outcome[outcome.value] += 1
        return {
            "model_version": model_version,
            "window": self.window,
            "labels": len(entries),
            "positives": positives,
            "negatives": len(entries) - positives,
            "by_outcome": by_outcome,
            "roc_auc": roc_auc(scores, labels),
            "log_loss": log_loss(scores, labels),
            "calibration_error": calibration_error(scores, labels),
            "calibration_bins": CALIBRATION_BINS,
            "mean_score": sum(scores) / len(scores) if scores else None,
            "positive_rate": positives / len(entries) if entries else None,
        }
