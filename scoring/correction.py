"""The learned model of a site: the prior, recalibrated on the site's own outcomes and shifted by context.

    z = prior_logit(x)
    p = logistic(center + slope * (z - center) + intercept + sum of w[c] for each context feature c of x)

What a site teaches in its first few hundred labels is rarely a new theory of struggle; it is how its
visitors answer (are the prior's probabilities too high or too low here?) and where (the sign-in page's
strugglers want the reset link, mobile visitors with a full cart take a chat). So the model keeps the
prior's judgement of behaviour and learns three things around it, online by log loss with AdaGrad steps:

- ``intercept``: the site's base rate against the prior's;
- ``slope``: how sharply outcomes follow the prior's evidence, around ``center``, the mean prior logit of
  the labelled (invited) visitors, so that sharpening separates the invited around the boundary rather
  than around an even chance nobody is invited at. It is held at ``min_slope`` (1) or more:
  labels come only from invited visitors, so a flattened prior would lift everyone it never saw answer
  (readers, typo-fixers) towards the invited visitors' acceptance. Sharpening is allowed, flattening is not;
- one weight per context feature (``tracker.context``: ``page=``, ``form=``, ``device=``...), with an L2
  pull towards 0, at most ``max_features`` of them.

Lowering is free, raising is bounded (``max_raise``: the intercept and context shifts together): what the
labels say about a context comes from the visitors who were invited there, who had already shown the
prior enough struggle. A large raise would carry their acceptance over to visitors of the same page who
showed little (a typo fixed at once) and whose answer the model has never seen; a lowering only makes the
engine quieter where its invitations were declined.

Before it learns anything it is the prior exactly, and it is small (a few floats per context value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Self

from scoring.base import Features, logistic
from scoring.explanation import top_reasons
from scoring.model import INDICATOR_MARK
from scoring.prior import StrugglePrior


@dataclass(frozen=True)
class CorrectionParams:
    learning_rate: float = 0.6
    l2: float = 1e-3
    min_slope: float = 1.0
    max_slope: float = 4.0
    max_features: int = 256
    max_raise: float = 0.2
    """The most the intercept and the context weights together may add to the logit. Lowering is free."""
    initial_accumulator: float = 1.0
    """Each parameter's AdaGrad sum of squared gradients starts here, as if it had seen one label's worth of
    gradient. From zero, every first step is the full learning rate whatever the gradient's size: one
    declined invitation moved each of its contexts (page, device, source, hour...) by 0.6 logits, a fresh
    model's predictions swung by several logits, and its measured quality kept the blend on the prior
    for over 120 labels. From one, early steps follow the gradient's size, and the model earns its weight
    in the blend within 100 labels on the proving ground (docs/scoring.md has the figures)."""


class PriorCorrection:
    """A ``Scorer``: the prior, recalibrated and shifted by context as the site's labels arrive."""

    def __init__(self, prior: StrugglePrior | None = None, params: CorrectionParams | None = None) -> None:
        self.prior = prior if prior is not None else StrugglePrior()
        self.params = params or CorrectionParams()
        self.slope = 1.0
        self.intercept = 0.0
        self.center = 0.0
        self.weights: dict[str, float] = {}
        self._g2: dict[str, float] = {}
        self._n_learned = 0

    @property
    def n_learned(self) -> int:
        return self._n_learned

    def clone(self) -> Self:
        return type(self)(self.prior.clone(), replace(self.params))

    def _context(self, features: Features) -> float:
        shift = 0.0
        weights = self.weights
        for name, value in features.items():
            weight = weights.get(name)
            if weight is not None and value == value:
                shift += weight * max(-1.0, min(1.0, value))
        return shift

    def _prior_logit(self, features: Features) -> float:
        z = self.prior.logit(features)
        return max(-30.0, min(30.0, z)) if z == z else 0.0

    def _logit(self, features: Features) -> float:
        z = self._prior_logit(features)
        shift = min(self.params.max_raise, self.intercept + self._context(features))
        return self.center + self.slope * (z - self.center) + shift

    def predict_proba_one(self, features: Features) -> float:
        return logistic(self._logit(features))

    def contributions(self, features: Features) -> dict[str, float]:
        """The prior's terms scaled by the slope, and each context feature's shift (for reasons)."""
        terms = {name: self.slope * term for name, term in self.prior.contributions(features).items()}
        for name, value in features.items():
            weight = self.weights.get(name)
            if weight is not None and value == value:
                terms[name] = weight * max(-1.0, min(1.0, value))
        return terms

    def explain(self, features: Features) -> list[str]:
        return top_reasons(self.contributions(features), features)

    def predict_and_explain(self, features: Features) -> tuple[float, list[str]]:
        return self.predict_proba_one(features), self.explain(features)

    def _step(self, key: str, gradient: float) -> float:
        g2 = self._g2[key] = self._g2.get(key, self.params.initial_accumulator) + gradient * gradient
        return self.params.learning_rate * gradient / (math.sqrt(g2) + 1e-6)

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        params = self.params
        z0 = self._prior_logit(features)
        error = (self.predict_proba_one(features) - float(label)) * weight
        gradient = error * (z0 - self.center)
        self.slope = max(params.min_slope, min(params.max_slope, self.slope - self._step(" slope", gradient)))
        self.intercept = min(params.max_raise, self.intercept - self._step(" intercept", error))
        for name, value in features.items():
            if INDICATOR_MARK not in name or value != value:
                continue
            current = self.weights.get(name)
            if current is None:
                if len(self.weights) >= params.max_features:
                    continue
                current = 0.0
            x = max(-1.0, min(1.0, value))
            self.weights[name] = min(params.max_raise, current - self._step(name, error * x + params.l2 * current))
        self._n_learned += 1
        # The pivot follows the labelled visitors; moving it moves the logit by (1 - slope) * shift,
        # which the intercept absorbs so that a prediction does not jump.
        shift = (z0 - self.center) / self._n_learned
        self.center += shift
        self.intercept -= (1.0 - self.slope) * shift

    def learned(self, top: int = 5) -> dict[str, object]:
        """What the site taught the model, for people: the slope, the base-rate shift, the strongest contexts."""
        strongest = sorted(self.weights.items(), key=lambda item: -abs(item[1]))[:top]
        return {
            "slope": round(self.slope, 3),
            "intercept": round(self.intercept, 3),
            "contexts": {name: round(weight, 3) for name, weight in strongest},
        }

    def __repr__(self) -> str:
        return f"PriorCorrection(slope={self.slope:.3f}, intercept={self.intercept:.3f}, n={self._n_learned})"
