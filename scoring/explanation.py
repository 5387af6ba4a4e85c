"""From per-feature contributions to the reason codes the trigger engine shows.

A reason code is a struggle signal's name (``tracker.features.STRUGGLE_SIGNALS``):
the recency-weighted and derived variants of a signal count towards the same
code, so an agent sees "form_errors", not "recent_form_errors". Engagement
features (time on site, pages) raise the score but are not reasons: "they were
on the site a while" does not tell an agent what the visitor is stuck on.
"""

from __future__ import annotations

from collections.abc import Mapping

from scoring.base import Features
from tracker.features import STRUGGLE_SIGNALS

REASON_OF: dict[str, str] = {name: name for name in STRUGGLE_SIGNALS} | {
    "recent_rage_clicks": "rage_clicks",
    "recent_dead_clicks": "dead_clicks",
    "recent_form_errors": "form_errors",
    "recent_js_errors": "js_errors",
    "recent_zero_result_searches": "zero_result_searches",
    "repeated_field_errors": "form_errors",
}
"""Feature name to the reason code it supports; features not listed never become reasons."""

MIN_CONTRIBUTION = 0.15
"""In logit units: below this a signal moved the odds by less than ~16%, too little to name."""

MAX_REASONS = 3


def top_reasons(
    contributions: Mapping[str, float],
    features: Features,
    limit: int = MAX_REASONS,
    min_contribution: float = MIN_CONTRIBUTION,
) -> list[str]:
    """The strongest signals that were observed (value > 0) and pushed the score up, best first."""
    totals: dict[str, float] = {}
    for name, contribution in contributions.items():
        code = REASON_OF.get(name)
        value = features.get(name, 0.0)
        if code is None or not value > 0:
            continue
        totals[code] = totals.get(code, 0.0) + contribution
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [code for code, total in ranked[:limit] if total >= min_contribution]


def observed_signals(features: Features) -> Features:
    """The features that can become reasons and were observed: all that ``top_reasons`` reads.

    A scorer's contributions to those alone give the same reasons as its contributions to every
    feature, in a third of the work (this runs on every collect)."""
    return {name: value for name in REASON_OF if (value := features.get(name, 0.0)) > 0}
