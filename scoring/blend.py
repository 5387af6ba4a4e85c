"""The default site scorer: the prior, handing over to the learned model as far as it has earned.

    p = (1 - w) * prior(x) + w * model(x)

The blend is in probability space: both parts are probabilities, so the mixture stays one and moves from
the prior to the model as ``w`` grows, and a fresh model's 0.5 never shows through on day one.

``w`` follows the model's measured quality on the site's own labels. Every label is first scored, before
anything learns from it (progressive validation), by each mixture on a grid ``w = 0, 0.1, ..., 1``; each
mixture keeps an exponentially decayed log loss (``quality_decay``: about the last 200 labels count). The
weight in use is the best mixture's, so a model that predicts the site's outcomes better than the prior
takes over, and one that does not (noisy outcomes, too few labels to tell) leaves the prior in charge.
Two bounds keep it honest while evidence is thin: no weight before ``min_labels`` examples, and never more
than ``n / (n + handover)``; with ``handover`` = 30 that is half after 30 labels, 83% after 150. ``n``
counts examples, not importance weight, so one explored invitation (weight up to 10) cannot hand the site
to the model early; the losses do weigh each label by its importance weight, to stay unbiased.

``version`` is what a decision snapshot records and what API workers compare to pick up a newer model:
it goes up by one per ``learn_one`` and by one per ``learn_many`` batch, never down (snapshots carry it
across restarts).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Self

from scoring.base import Features, Scorer, clip_probability, logistic
from scoring.correction import PriorCorrection
from scoring.explanation import observed_signals, top_reasons
from scoring.model import OnlineLogistic
from scoring.prior import StrugglePrior

DEFAULT_HANDOVER = 30
MIN_LABELS = 20
QUALITY_DECAY = 0.995
WEIGHT_GRID = tuple(step / 10 for step in range(11))


class BlendedScorer:
    """A ``Scorer`` with a version and reasons; what each site scores with."""

    def __init__(
        self,
        prior: Scorer | None = None,
        model: Scorer | None = None,
        handover: float = DEFAULT_HANDOVER,
    ) -> None:
        if not handover > 0:
            raise ValueError(f"handover must be positive, got {handover!r}")
        self.prior: Scorer = prior if prior is not None else StrugglePrior()
        self.model: Scorer = model if model is not None else OnlineLogistic()
        self.handover = float(handover)
        self.version = 0
        self.mixture_losses = [0.0] * len(WEIGHT_GRID)
        self._weight = 0.0
        self.loss_weight = 0.0

    # Snapshots pickled before the measured handover lack these: they start again from the prior's say.
    mixture_losses: list[float]
    _weight: float = 0.0
    loss_weight: float = 0.0

    @property
    def n_learned(self) -> int:
        return self.model.n_learned

    @property
    def model_weight(self) -> float:
        """The learned model's share of the score, in [0, 1]: the best measured mixture, bounded by n."""
        return self._weight

    def _measure(self, features: Features, label: bool, weight: float) -> None:
        """Test, then train: score this label by every mixture before the model learns from it."""
        prior = clip_probability(self.prior.predict_proba_one(features))
        model = clip_probability(self.model.predict_proba_one(features)) if self.model.n_learned else 0.5
        losses = getattr(self, "mixture_losses", None) or [0.0] * len(WEIGHT_GRID)
        for index, w in enumerate(WEIGHT_GRID):
            mixed = (1.0 - w) * prior + w * model
            loss = -math.log(mixed if label else 1.0 - mixed)
            losses[index] = QUALITY_DECAY * losses[index] + weight * loss
        self.mixture_losses = losses
        self.loss_weight = QUALITY_DECAY * self.loss_weight + weight

    def progressive_losses(self) -> dict[str, float | None]:
        """Mean log loss on the recent labels, each scored before it was learned: prior alone, model alone,
        and the blend at the weight in use (what the dashboard's learning curve draws)."""
        if not self.loss_weight:
            return {"prior": None, "model": None, "blend": None}
        losses, total = self.mixture_losses, self.loss_weight
        in_use = min(range(len(WEIGHT_GRID)), key=lambda index: abs(WEIGHT_GRID[index] - self._weight))
        return {
            "prior": round(losses[0] / total, 4),
            "model": round(losses[-1] / total, 4),
            "blend": round(losses[in_use] / total, 4),
        }

    def _settle(self) -> None:
        n = self.model.n_learned
        if n < MIN_LABELS:
            self._weight = 0.0
            return
        losses = self.mixture_losses
        best = WEIGHT_GRID[min(range(len(losses)), key=losses.__getitem__)]
        self._weight = min(best, n / (n + self.handover))

    def clone(self) -> Self:
        return type(self)(self.prior.clone(), self.model.clone(), self.handover)

    def predict_proba_one(self, features: Features) -> float:
        w = self.model_weight
        prior = self.prior.predict_proba_one(features)
        if w == 0.0:
            return clip_probability(prior)
        return clip_probability((1.0 - w) * prior + w * self.model.predict_proba_one(features))

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        self._measure(features, label, weight)
        self.prior.learn_one(features, label, weight)
        self.model.learn_one(features, label, weight)
        self._settle()
        self.version += 1

    def learn_many(self, examples: Iterable[tuple[Features, bool, float]]) -> int:
        """Learn a batch as one new version (what the single-writer learner publishes). Returns the count."""
        count = 0
        for features, label, weight in examples:
            self._measure(features, label, weight)
            self.prior.learn_one(features, label, weight)
            self.model.learn_one(features, label, weight)
            count += 1
        if count:
            self._settle()
            self.version += 1
        return count

    def contributions(self, features: Features) -> dict[str, float]:
        """Per-feature logit terms of prior and model, mixed with the blend's weights."""
        w = self.model_weight
        terms: dict[str, float] = {}
        for part, share in ((self.prior, 1.0 - w), (self.model, w)):
            # hasattr, not isinstance: a runtime-checkable Protocol check costs ~30 us on every collect.
            if share and hasattr(part, "contributions"):
                for name, term in part.contributions(features).items():
                    terms[name] = terms.get(name, 0.0) + share * term
        return terms

    def explain(self, features: Features) -> list[str]:
        """Reason codes (e.g. ``["form_errors", "rage_clicks"]``), strongest first; may be empty."""
        observed = observed_signals(features)
        return top_reasons(self.contributions(observed), observed)

    def predict_and_explain(self, features: Features) -> tuple[float, list[str]]:
        """``(predict_proba_one(features), explain(features))``, equal to the two calls.

        Every collect asks for both. While the model has no say (the score is the prior's
        alone), one pass over the prior's terms gives both: the score is the logistic of the bias
        plus the terms, summed in the same order as ``StrugglePrior.predict_proba_one`` sums them.
        """
        prior, model, w = self.prior, self.model, self._weight
        if type(prior) is not StrugglePrior:
            return self.predict_proba_one(features), self.explain(features)
        if w == 0.0:
            terms = prior.contributions(features)
            z = prior.bias
            for term in terms.values():
                z += term
            return clip_probability(logistic(z)), top_reasons(terms, features)
        if type(model) is PriorCorrection and _same_prior(model.prior, prior):
            # The default pair: the correction rescales the very same prior terms, so one pass over them
            # serves the prior, the correction and the reasons. Each sum is the one the separate calls
            # make, in their order: the score and the reasons are the same floats.
            terms = prior.contributions(features)
            z = prior.bias
            for term in terms.values():
                z += term
            z0 = max(-30.0, min(30.0, z)) if z == z else 0.0
            shift = min(model.params.max_raise, model.intercept + model._context(features))
            corrected = model.center + model.slope * (z0 - model.center) + shift
            score = clip_probability((1.0 - w) * logistic(z) + w * logistic(corrected))
            slope, share = model.slope, 1.0 - w
            mixed = {name: share * term + w * (slope * term) for name, term in terms.items()}
            return score, top_reasons(mixed, features)
        return self.predict_proba_one(features), self.explain(features)

    def __repr__(self) -> str:
        return f"BlendedScorer(version={self.version}, n_learned={self.n_learned}, handover={self.handover:g})"


def _same_prior(one: Scorer, other: StrugglePrior) -> bool:
    """The same table in the same order (so that its sums are the same floats)."""
    return one is other or (
        type(one) is StrugglePrior
        and one.bias == other.bias
        and list(one.weights.items()) == list(other.weights.items())
    )


def default_site_scorer(handover: float = DEFAULT_HANDOVER) -> BlendedScorer:
    """A new site's scorer: the documented prior, and the prior corrected by the site's own labels."""
    return BlendedScorer(StrugglePrior(), PriorCorrection(StrugglePrior()), handover)
