"""Any river binary classifier as a ``Scorer``: how baselines join the comparisons.

river's own estimators fall short of the contract in two ways this adapter
repairs: ``StandardScaler.transform_one`` inserts unseen feature names into
its defaultdicts during predict (a read that grows the model), and a
probability can come back NaN once a huge value has overflowed a variance.
Predict therefore only passes names the model has learned, and the output
goes through ``clip_probability``.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Self

from river import linear_model, preprocessing

from scoring.base import Features, clip_probability


class RiverScorer:
    def __init__(self, classifier: Any) -> None:
        # Any: river's estimators and pipelines share no typed base with predict_proba_one.
        self.classifier = classifier
        self._known: set[str] = set()
        self._n_learned = 0
        self._takes_weight = "w" in inspect.signature(classifier.learn_one).parameters

    @property
    def n_learned(self) -> int:
        return self._n_learned

    def clone(self) -> Self:
        return type(self)(self.classifier.clone())

    def predict_proba_one(self, features: Features) -> float:
        known = {name: value for name, value in features.items() if name in self._known}
        return clip_probability(float(self.classifier.predict_proba_one(known).get(True, 0.5)))

    def explain(self, features: Features) -> list[str]:
        """Always empty: a river pipeline does not say which feature moved its score."""
        return []

    def predict_and_explain(self, features: Features) -> tuple[float, list[str]]:
        return self.predict_proba_one(features), []

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        x = dict(features)
        self._known.update(x)
        if self._takes_weight:
            self.classifier.learn_one(x, label, w=weight)
        else:
            self.classifier.learn_one(x, label)
        self._n_learned += 1

    def __deepcopy__(self, memo: dict[int, object]) -> RiverScorer:
        twin = type(self)(copy.deepcopy(self.classifier, memo))
        twin._known = set(self._known)
        twin._n_learned = self._n_learned
        return twin

    def __repr__(self) -> str:
        return f"RiverScorer({self.classifier!r})"


def plain_river_scorer() -> RiverScorer:
    """The baseline every candidate must match: river's StandardScaler | LogisticRegression."""
    return RiverScorer(preprocessing.StandardScaler() | linear_model.LogisticRegression())
