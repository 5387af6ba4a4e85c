"""Generated sessions with labels from a hidden ground truth, for tests and benchmarks.

Real labelled traffic is private, so model selection also runs on sessions
drawn from a small behavioural story: some visitors are stuck (on a form, on
search, on a broken page), stuck visitors leave more struggle signals, and
whether an invitation is accepted depends on the *hidden* stuck state and
intent, not directly on the counts the model sees. Counts are noisy, skewed
and sometimes huge, as in production; the model is therefore misspecified on
purpose, which is what it will be on real sites.
"""

from __future__ import annotations

import numpy as np

from tracker.features import FEATURES, NO_U_TURN_S

Example = tuple[dict[str, float], bool]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return result


def generate_sessions(n: int, seed: int = 0, base_rate_shift: float = 0.0) -> list[Example]:
    """``n`` (features, accepted) pairs; the same seed gives the same sessions."""
    rng = np.random.default_rng(seed)
    stuck = rng.random(n) < 0.25
    where = rng.integers(0, 3, n)  # 0: a form, 1: search, 2: a broken page
    on_form, on_search, on_broken = (stuck & (where == k) for k in range(3))
    intent = rng.beta(2.0, 5.0, n)  # how much the visitor wants to buy
    returning = rng.random(n) < 0.3
    mobile = rng.random(n) < 0.45

    time_on_site = rng.lognormal(np.log(90.0), 1.1, n) * np.where(stuck, 2.0, 1.0)
    pages = 1 + rng.poisson(time_on_site / 50.0)
    clicks = rng.poisson(pages * 2.5 + 4.0 * stuck)
    rage = rng.poisson(0.05 + 1.2 * on_broken + 0.5 * on_form)
    dead = rng.poisson(0.3 + 1.5 * on_broken + 0.3 * stuck)
    form_errors = rng.poisson(0.15 + 2.0 * on_form)
    repeated = np.minimum(form_errors, rng.poisson(1.2 * on_form))
    u_turns = rng.poisson(0.2 + 0.9 * stuck)
    reversals = rng.poisson(1.0 + 2.0 * stuck)
    searches = rng.poisson(0.4 + 1.5 * on_search)
    zero_results = np.minimum(searches, rng.poisson(0.05 + 1.3 * on_search))
    js_errors = rng.poisson(0.03 + 0.8 * on_broken)
    exit_intents = rng.poisson(0.2 + 0.4 * stuck)
    conversions = (rng.random(n) < 0.04 + 0.2 * intent * (~stuck)).astype(float)
    idle = rng.exponential(20.0, n) * np.where(stuck, 1.8, 1.0)
    freshness = rng.random(n)  # how recent the struggle is: recency-weighted counts shrink with age

    # The hidden truth: stuck visitors with intent accept; converted or mobile ones less so;
    # a visitor drowning in rage clicks is annoyed, so the effect saturates.
    logit = (
        -3.0
        + 2.2 * stuck * (0.5 + intent)
        + 1.2 * freshness * stuck
        + 0.9 * intent
        + 0.4 * returning
        - 0.6 * mobile
        - 2.0 * conversions
        + 0.5 * np.tanh(rage / 3.0)
        + base_rate_shift
    )
    accepted = rng.random(n) < _sigmoid(logit)

    columns: dict[str, np.ndarray] = {
        "time_on_site_s": time_on_site,
        "time_on_page_s": time_on_site * rng.random(n),
        "pages_viewed": pages,
        "distinct_paths": np.maximum(1, pages - rng.poisson(0.5 + u_turns)),
        "returning_visitor": returning.astype(float),
        "sessions": np.where(returning, 2 + rng.poisson(1.5, n), 1),
        "clicks": clicks,
        "rage_clicks": rage,
        "dead_clicks": dead,
        "form_errors": form_errors,
        "repeated_field_errors": repeated,
        "failed_submits": np.minimum(form_errors, 1 + repeated) * (form_errors > 0),
        "repeated_submits": np.minimum(repeated, np.maximum(0, form_errors - 1)),
        "u_turns": u_turns,
        "scroll_reversals": reversals,
        "max_scroll_depth": rng.random(n),
        "longest_idle_s": idle,
        "searches": searches,
        "zero_result_searches": zero_results,
        "js_errors": js_errors,
        "exit_intents": exit_intents,
        "custom_events": rng.poisson(0.5 + intent),
        "conversions": conversions,
        "heartbeats": np.floor(time_on_site / 15.0),
        "seconds_since_u_turn": np.where(u_turns > 0, time_on_site * rng.random(n), NO_U_TURN_S),
        "recent_rage_clicks": rage * freshness,
        "recent_dead_clicks": dead * freshness,
        "recent_form_errors": form_errors * freshness,
        "recent_js_errors": js_errors * freshness,
        "recent_zero_result_searches": zero_results * freshness,
        "unresolved_search": ((zero_results > 0) & (rng.random(n) < 0.7)).astype(float),
        "struggle_kinds": (rage > 0)
        + (dead > 0)
        + (form_errors > 0)
        + (u_turns > 0)
        + (zero_results > 0)
        + (js_errors > 0),
        "recent_struggle": (rage + dead + form_errors + js_errors + zero_results) * freshness,
        "cart_items": rng.poisson(intent * 2.0),
        "cart_value": rng.poisson(intent * 2.0) * rng.lognormal(np.log(40.0), 0.6, n),
    }
    assert set(columns) == set(FEATURES)
    table = {name: np.asarray(values, dtype=float).round(3).tolist() for name, values in columns.items()}
    return [({name: table[name][i] for name in FEATURES}, bool(accepted[i])) for i in range(n)]


def base_rate(examples: list[Example]) -> float:
    return sum(label for _, label in examples) / max(1, len(examples))


__all__ = ["Example", "base_rate", "generate_sessions"]
