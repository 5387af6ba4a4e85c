"""The cold-start prior: a hand-set logistic score from struggle signals.

A new site has no labels, yet must score from its first visitor. The prior is
a logistic of a weighted sum of ``log1p(value)``; the log makes the first rage
click count more than the tenth. It is deterministic, does not learn, and its
weights are the table below (also in docs/scoring.md), so a marketer can read
why a visitor scored what they did.

| feature | weight | why |
|---|---|---|
| (bias) | -4.0 | a quiet visitor's acceptance is a few percent |
| time_on_site_s | +0.20 | engagement: two minutes add ~1 logit |
| pages_viewed | +0.15 | engagement, saturating |
| rage_clicks | +0.30 | frustration with an element |
| recent_rage_clicks | +0.50 | ... and it is happening now |
| dead_clicks | +0.20 | expecting something that does not respond |
| recent_dead_clicks | +0.30 | |
| form_errors | +0.40 | stuck on a form: the classic case for help |
| recent_form_errors | +0.60 | |
| repeated_field_errors | +0.40 | the same field failing again |
| u_turns | +0.35 | lost: back to the previous page within 7 s |
| zero_result_searches | +0.30 | cannot find it |
| recent_zero_result_searches | +0.50 | |
| js_errors | +0.20 | the page may be broken for them |
| recent_js_errors | +0.30 | |
| exit_intents | +0.30 | about to leave |
| scroll_reversals | +0.10 | searching the page, weak evidence |
| conversions | -1.50 | just bought: rarely needs an invitation now |

Quiet visitor, 30 s, one page: ~4%. Two minutes, three pages, three recent
form errors, one repeated, one u-turn: ~27%.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Self

from scoring.base import Features, logistic, signed_log1p
from scoring.reasons import top_reasons

PRIOR_BIAS = -4.0
PRIOR_WEIGHTS: MappingProxyType[str, float] = MappingProxyType(
    {
        "time_on_site_s": 0.20,
        "pages_viewed": 0.15,
        "rage_clicks": 0.30,
        "recent_rage_clicks": 0.50,
        "dead_clicks": 0.20,
        "recent_dead_clicks": 0.30,
        "form_errors": 0.40,
        "recent_form_errors": 0.60,
        "repeated_field_errors": 0.40,
        "u_turns": 0.35,
        "zero_result_searches": 0.30,
        "recent_zero_result_searches": 0.50,
        "js_errors": 0.20,
        "recent_js_errors": 0.30,
        "exit_intents": 0.30,
        "scroll_reversals": 0.10,
        "conversions": -1.50,
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

    def predict_proba_one(self, features: Features) -> float:
        # Same sum as contributions(), without building the dict: this runs on every collect.
        # BlendedScorer.predict_and_explain adds contributions() up in this same order and
        # promises the same float: change both or neither.
        z = self.bias
        log1p = math.log1p
        for name, weight in self.weights.items():
            value = features.get(name)
            if value is not None and value != 0 and math.isfinite(value):
                z += weight * (log1p(value) if value > 0 else -log1p(-value))
        return logistic(z)

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        """The prior is fixed by design; the blend learns around it."""

    def explain(self, features: Features) -> list[str]:
        return top_reasons(self.contributions(features), features)

    def __repr__(self) -> str:
        return f"StrugglePrior(bias={self.bias})"
