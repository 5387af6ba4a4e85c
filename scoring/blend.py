"""The default site scorer: the prior, handing over to the learned model as labels accrue.

    w = n / (n + handover)        n = examples the model has learned
    p = (1 - w) * prior(x) + w * model(x)

With ``handover`` = 100 the model has half the say after 100 labels, 91% after
1,000. The blend is in probability space: both parts are probabilities, so the
mixture stays one, moves monotonically from the prior to the model, and a
fresh model's 0.5 never shows through on day one. ``n`` counts examples, not
importance weight, so one explored invitation (weight up to 10) cannot hand
the site to the model early.

``version`` is what a decision snapshot records and what API workers compare
to pick up a newer model: it goes up by one per ``learn_one`` and by one per
``learn_many`` batch, never down (snapshots carry it across restarts).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, Self, runtime_checkable

from scoring.base import Features, Scorer, clip_probability, logistic
from scoring.model import OnlineLogistic
from scoring.prior import StrugglePrior
from scoring.reasons import observed_signals, top_reasons

DEFAULT_HANDOVER = 100


@runtime_checkable
class Explainable(Protocol):
    def contributions(self, features: Features) -> dict[str, float]: ...


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

    @property
    def n_learned(self) -> int:
        return self.model.n_learned

    @property
    def model_weight(self) -> float:
        """The learned model's share of the score, in [0, 1)."""
        n = self.model.n_learned
        return n / (n + self.handover)

    def clone(self) -> Self:
        return type(self)(self.prior.clone(), self.model.clone(), self.handover)

    def predict_proba_one(self, features: Features) -> float:
        w = self.model_weight
        prior = self.prior.predict_proba_one(features)
        if w == 0.0:
            return clip_probability(prior)
        return clip_probability((1.0 - w) * prior + w * self.model.predict_proba_one(features))

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        self.prior.learn_one(features, label, weight)
        self.model.learn_one(features, label, weight)
        self.version += 1

    def learn_many(self, examples: Iterable[tuple[Features, bool, float]]) -> int:
        """Learn a batch as one new version (what the single-writer learner publishes). Returns the count."""
        count = 0
        for features, label, weight in examples:
            self.prior.learn_one(features, label, weight)
            self.model.learn_one(features, label, weight)
            count += 1
        if count:
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

        Every collect asks for both. Until the site's model has learned (the score is the prior's
        alone), one pass over the prior's terms gives both: the score is the logistic of the bias
        plus the terms, summed in the same order as ``StrugglePrior.predict_proba_one`` sums them.
        """
        prior = self.prior
        if self.model.n_learned == 0 and type(prior) is StrugglePrior:
            terms = prior.contributions(features)
            z = prior.bias
            for term in terms.values():
                z += term
            return clip_probability(logistic(z)), top_reasons(terms, features)
        return self.predict_proba_one(features), self.explain(features)

    def __repr__(self) -> str:
        return (
            f"BlendedScorer(version={self.version}, n_learned={self.n_learned}, handover={self.handover:g})"
        )


def default_site_scorer(handover: float = DEFAULT_HANDOVER) -> BlendedScorer:
    """A new site's scorer: the documented prior and the measured default model."""
    return BlendedScorer(StrugglePrior(), OnlineLogistic(), handover)
