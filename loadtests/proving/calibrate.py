"""Fitting the cold-start prior's weights to what proving-ground visitors would answer, so that its
probabilities mean what they say.

Every collect of a prior-only run is a moment: the features the engine saw, and the visitor's true chance
of accepting an invitation shown then (``ground.acceptance``). A logistic regression on
``signed_log1p(feature)`` with those chances as soft labels gives the weights; struggle signals are held
non-negative (a signal of struggle may not argue against help), and the result is rounded to 0.05 for a
table a marketer can read. ``tactful simulate --calibrate`` runs it on seeds of its own, never the seeds
the proving ground reports on. The fit is printed, not written: docs/scoring.md and ``scoring.prior`` carry
the table, reviewed by a person.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from loadtests.proving.ground import ProvingGround, Scenario, acceptance
from loadtests.proving.personas import generate
from tracker.features import STRUGGLE_SIGNALS
from triggers import SiteConfig

CANDIDATES = (
    "time_on_site_s",
    "pages_viewed",
    "rage_clicks",
    "recent_rage_clicks",
    "dead_clicks",
    "recent_dead_clicks",
    "form_errors",
    "failed_submits",
    "repeated_field_errors",
    "repeated_submits",
    "recent_form_errors",
    "u_turns",
    "zero_result_searches",
    "recent_zero_result_searches",
    "js_errors",
    "recent_js_errors",
    "exit_intents",
    "scroll_reversals",
    "longest_idle_s",
    "conversions",
    "struggle_kinds",
    "recent_struggle",
    "unresolved_search",
)
NON_NEGATIVE = (
    frozenset(STRUGGLE_SIGNALS)
    | {name for name in CANDIDATES if name.startswith("recent_")}
    | {"failed_submits", "struggle_kinds", "unresolved_search"}
)


def moments(config: SiteConfig, count: int, seed: int, start_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (log-scaled, in ``CANDIDATES`` order) and true acceptance at every collect of a run."""
    visits = generate(count, seed, start_ms)
    ground = ProvingGround(Scenario(config, learn=False, seed=seed), visits)
    rows: list[list[float]] = []
    targets: list[float] = []
    judge = ground.decider.judge

    def observing(*args: Any, **kwargs: Any) -> Any:
        judged = judge(*args, **kwargs)
        features = judged.features
        index = ground.sending
        assert index is not None
        rows.append([float(np.sign(v) * np.log1p(abs(v))) for v in (features.get(n, 0.0) for n in CANDIDATES)])
        targets.append(acceptance(ground.visits[index], ground.clock.now_ms))
        return judged

    ground.decider.judge = observing  # type: ignore[method-assign]
    asyncio.run(ground.run())
    return np.array(rows), np.array(targets)


def fit(x: np.ndarray, y: np.ndarray, steps: int = 4000, l2: float = 1e-3) -> tuple[float, dict[str, float]]:
    """Bias and weights by projected gradient descent (Adam) on the soft-label log loss."""
    weights = np.zeros(x.shape[1])
    bias = float(np.log(y.mean() / (1 - y.mean())))
    mask = np.array([name in NON_NEGATIVE for name in CANDIDATES])
    m = np.zeros(x.shape[1] + 1)
    v = np.zeros(x.shape[1] + 1)
    for step in range(1, steps + 1):
        p = 1 / (1 + np.exp(-(x @ weights + bias)))
        error = p - y
        gradient = np.concatenate([[error.mean()], x.T @ error / len(y) + l2 * weights])
        m = 0.9 * m + 0.1 * gradient
        v = 0.999 * v + 0.001 * gradient**2
        update = 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
        bias -= update[0]
        weights -= update[1:]
        weights[mask] = np.maximum(weights[mask], 0.0)
    return bias, {name: float(w) for name, w in zip(CANDIDATES, weights, strict=True)}


def calibration(x: np.ndarray, y: np.ndarray, bias: float, weights: dict[str, float], bins: int = 10) -> dict[str, Any]:
    """Expected calibration error of a prior against true acceptance, and the mean log loss."""
    w = np.array([weights.get(name, 0.0) for name in CANDIDATES])
    p = 1 / (1 + np.exp(-(x @ w + bias)))
    edges = np.minimum((p * bins).astype(int), bins - 1)
    ece = sum(
        abs(p[edges == b].mean() - y[edges == b].mean()) * (edges == b).mean()
        for b in range(bins)
        if (edges == b).any()
    )
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    loss = float(-(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).mean())
    return {"calibration_error": round(float(ece), 4), "log_loss": round(float(loss), 4), "moments": len(y)}


def calibrate(
    config: SiteConfig, fit_seeds: tuple[int, ...] = (101, 102), held_out_seed: int = 103, visitors: int = 2000
) -> dict[str, Any]:
    """Fit the prior on ``fit_seeds`` and measure it, and the prior in use, on ``held_out_seed``: never the
    seeds the proving ground reports on. What ``tactful simulate --calibrate`` prints."""
    from loadtests.proving import START_MS
    from scoring.prior import PRIOR_BIAS, PRIOR_WEIGHTS

    parts = [moments(config, visitors, seed, START_MS) for seed in fit_seeds]
    x = np.vstack([features for features, _ in parts])
    y = np.concatenate([targets for _, targets in parts])
    bias, weights = fit(x, y)
    held_x, held_y = moments(config, visitors, held_out_seed, START_MS)
    return {
        "fit": {"bias": round(float(bias), 2)}
        | {name: round(float(w), 2) for name, w in weights.items() if abs(w) >= 0.025},
        "fit_held_out": calibration(held_x, held_y, bias, weights),
        "prior_in_use_held_out": calibration(held_x, held_y, PRIOR_BIAS, dict(PRIOR_WEIGHTS)),
        "seeds": {"fit": list(fit_seeds), "held_out": held_out_seed},
    }
