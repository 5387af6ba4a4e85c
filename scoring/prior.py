"""The cold-start prior: a calibrated logistic score from struggle signals.

A new site has no labels, yet must score from its first visitor. The prior is
a logistic of a weighted sum of ``log1p(value)``; the log makes the first rage
click count more than the tenth. It is deterministic, does not learn, and its
weights are the table below (also in docs/scoring.md), so a marketer can read
why a visitor scored what they did.

| feature | weight | why |
|---|---|---|
| (bias) | -3.55 | a quiet visitor's acceptance is a few percent |
| struggle_kinds | +1.40 | breadth: a visitor who is really stuck tries several things |
| failed_submits | +0.85 | a submit that failed: one press with ten empty fields is one |
| repeated_submits | +0.60 | ... and failing again |
| repeated_field_errors | +0.60 | the same field failing again |
| zero_result_searches | +0.65 | cannot find it |
| recent_zero_result_searches | +0.65 | ... just now |
| js_errors | +0.60 | the page may be broken for them |
| recent_js_errors | +0.60 | |
| rage_clicks | +0.10 | frustration with an element (counts mostly through breadth) |
| recent_rage_clicks | +0.20 | |
| u_turns | +0.05 | lost (counts mostly through breadth) |
| exit_intents | +0.30 | about to leave |
| pages_viewed | +0.20 | engagement, saturating |
| time_on_site_s | -0.10 | a long, calm visit is a reader's |
| longest_idle_s | -0.05 | idling alone is reading, not struggle |
| conversions | -0.40 | just bought: rarely needs an invitation now |

A quiet visitor (30 s, one page): ~2%. A typo fixed at once: ~10%. A failed
submit, the same field failing again and an empty search: ~60%. The weights
were fitted to proving-ground outcomes (docs/scoring.md says how).
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Self

from scoring.base import Features, logistic, signed_log1p
from scoring.explanation import top_reasons

PRIOR_BIAS = -3.55
PRIOR_WEIGHTS: MappingProxyType[str, float] = MappingProxyType(
    {
        "struggle_kinds": 1.40,
        "failed_submits": 0.85,
        "repeated_submits": 0.60,
        "repeated_field_errors": 0.60,
        "exit_intents": 0.30,
        "zero_result_searches": 0.65,
        "recent_zero_result_searches": 0.65,
        "js_errors": 0.60,
        "recent_js_errors": 0.60,
        "rage_clicks": 0.10,
        "recent_rage_clicks": 0.20,
        "u_turns": 0.05,
        "pages_viewed": 0.20,
        "time_on_site_s": -0.10,
        "longest_idle_s": -0.05,
        "conversions": -0.40,
    }
)


class StrugglePrior:
    """A ``Scorer`` that never learns: the documented table above, nothing else."""

    def __init__(self, bias: float = PRIOR_BIAS, weights: dict[str, float] | None = None) -> None:
        self.bias = bias
        self.weights = dict(PRIOR_WEIGHTS if weights is None else weights)

    @property
    def n_learned(self) -> int:
        return 0

    def clone(self) -> Self:
        return type(self)(self.bias, dict(self.weights))

    def contributions(self, features: Features) -> dict[str, float]:
        """Each weighted feature's term in the logit; absent or non-finite values count as 0."""
        terms: dict[str, float] = {}
        for name, weight in self.weights.items():
            value = features.get(name)
            if value is not None and math.isfinite(value) and value != 0:
                terms[name] = weight * signed_log1p(value)
        return terms

    def logit(self, features: Features) -> float:
        # Same sum as contributions(), without building the dict: this runs on every collect.
        # BlendedScorer.predict_and_explain adds contributions() up in this same order and
        # promises the same float: change both or neither.
        z = self.bias
        log1p = math.log1p
        for name, weight in self.weights.items():
            value = features.get(name)
            if value is not None and value != 0 and math.isfinite(value):
                z += weight * (log1p(value) if value > 0 else -log1p(-value))
        return z

    def predict_proba_one(self, features: Features) -> float:
        return logistic(self.logit(features))

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        """The prior is fixed by design; the blend learns around it."""

    def explain(self, features: Features) -> list[str]:
        return top_reasons(self.contributions(features), features)

    def predict_and_explain(self, features: Features) -> tuple[float, list[str]]:
        terms = self.contributions(features)
        z = self.bias
        for term in terms.values():
            z += term
        return logistic(z), top_reasons(terms, features)

    def __repr__(self) -> str:
        return f"StrugglePrior(bias={self.bias})"
