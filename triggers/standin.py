"""A stand-in score for replays and comparisons when no learned model is at hand.

It is NOT the production scorer (that lives in ``scoring/`` and learns from
outcomes): a fixed logistic of recent struggle signals, documented here so the
comparison in ``triggers.compare`` is reproducible. Weights: a rage click just
now adds 1.6 to the logit, a form error 1.2, a dead click 0.8, a zero-result
search 1.0, a u-turn in the last minute 1.5, a JS error 0.8, exit intent 0.5;
the bias of -3 keeps a visitor without struggle near 5%.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

BIAS = -3.0
WEIGHTS = {
    "recent_rage_clicks": 1.6,
    "recent_form_errors": 1.2,
    "recent_dead_clicks": 0.8,
    "recent_zero_result_searches": 1.0,
    "recent_js_errors": 0.8,
    "exit_intents": 0.5,
}
U_TURN_WEIGHT, U_TURN_WINDOW_S = 1.5, 60.0
SIGNAL_NAMES = {
    "recent_rage_clicks": "rage_clicks",
    "recent_form_errors": "form_errors",
    "recent_dead_clicks": "dead_clicks",
    "recent_zero_result_searches": "zero_result_searches",
    "recent_js_errors": "js_errors",
    "exit_intents": "exit_intents",
}


def _terms(features: Mapping[str, float]) -> dict[str, float]:
    terms = {SIGNAL_NAMES[name]: weight * features.get(name, 0.0) for name, weight in WEIGHTS.items()}
    if features.get("seconds_since_u_turn", math.inf) < U_TURN_WINDOW_S:
        terms["u_turns"] = U_TURN_WEIGHT
    return {name: term for name, term in terms.items() if term > 0}


def struggle_score(features: Mapping[str, float]) -> float:
    return 1.0 / (1.0 + math.exp(-(BIAS + sum(_terms(features).values()))))


def struggle_explain(features: Mapping[str, float]) -> list[str]:
    """Signals by their contribution to the logit, strongest first."""
    return [name for name, _ in sorted(_terms(features).items(), key=lambda item: (-item[1], item[0]))]
