"""The default learned model: log-scaled, standardised, online logistic regression.

It is river's ``FuncTransformer(signed_log1p) | StandardScaler() |
LogisticRegression()`` fused into one loop over the features. The maths is the
same pipeline; fusing it is what brings a 28-feature predict under the 20 us
budget (the composed river pipeline measured ~30 us predict and ~100 us learn
on the reference machine, see ``loadtests/bench_model.py``). The choices, each
measured against river's plain ``StandardScaler() | LogisticRegression()``
on Phishing and on generated struggle sessions:

- ``signed_log1p`` of every value: counts and durations are heavy-tailed; on
  the log scale one runaway session no longer dominates the scaler, and any
  finite input (even 1e308) stays finite downstream.
- running mean / variance per feature (Welford), standardised values clipped
  to +-``z_clip`` so an outlier cannot take a giant gradient step.
- per-coordinate AdaGrad steps: features that are rarely non-zero (JS errors,
  zero-result searches) keep a useful learning rate while frequent ones settle.
- a small L2 penalty keeps weights of correlated counts from drifting apart.

Predict reads state only (``dict.get``), never inserts, so concurrent readers
are safe and unseen features do not grow the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Self

from scoring.base import Features, logistic, signed_log1p
from scoring.explanation import top_reasons

# Slot layout per feature, one list per name so predict does one dict lookup per feature.
_COUNT, _MEAN, _M2, _INV_STD, _WEIGHT, _G2, _INDICATOR = range(7)
INDICATOR_MARK = "="
"""A feature named ``name=value`` (``tracker.context``) is one-hot: present as 1.0 or absent. It is not
standardised (its running variance would be 0: it is only ever seen at 1.0); its value enters as is."""


@dataclass(frozen=True)
class LogisticParams:
    """Hyper-parameters; the defaults are the measured choice (see module docstring)."""

    learning_rate: float = 0.15
    intercept_learning_rate: float = 0.5
    l2: float = 1e-4
    z_clip: float = 5.0
    log_transform: bool = True
    adagrad: bool = True
    adagrad_epsilon: float = 1e-6
    max_features: int = 256
    """Distinct features the model keeps (the first seen): context features are one-hot, and a site's
    page templates or form names must not grow the model past its 64 KiB budget."""


class OnlineLogistic:
    """Online logistic regression on log-scaled, standardised features. A ``Scorer``."""

    def __init__(self, params: LogisticParams | None = None) -> None:
        self.params = params or LogisticParams()
        self._slots: dict[str, list[float]] = {}
        self._intercept = 0.0
        self._intercept_g2 = 0.0
        self._n_learned = 0

    @property
    def n_learned(self) -> int:
        return self._n_learned

    def clone(self) -> Self:
        return type(self)(replace(self.params))

    def _value(self, raw: float) -> float | None:
        if not math.isfinite(raw):
            return None  # treated as missing, like an absent feature
        return signed_log1p(raw) if self.params.log_transform else raw

    def _logit(self, features: Features) -> float:
        # The hot path: signed_log1p and the clip are inlined (a function call per feature
        # costs ~40% of the budget). NaN lands on 0 (the mean, i.e. missing); +-inf on the clip.
        z = self._intercept
        clip = self.params.z_clip
        slots = self._slots
        log_transform = self.params.log_transform
        log1p = math.log1p
        for name, raw in features.items():
            slot = slots.get(name)
            if slot is None:
                continue
            if log_transform:
                raw = log1p(raw) if raw >= 0 else -log1p(-raw)
            scaled = (raw - slot[_MEAN]) * slot[_INV_STD]
            if not -clip <= scaled <= clip:
                scaled = clip if scaled > 0 else -clip if scaled < 0 else 0.0
            z += slot[_WEIGHT] * scaled
        return z

    def predict_proba_one(self, features: Features) -> float:
        return logistic(self._logit(features))

    def contributions(self, features: Features) -> dict[str, float]:
        """Each feature's term in the logit, relative to an average visitor (for reason codes)."""
        clip = self.params.z_clip
        terms: dict[str, float] = {}
        for name, raw in features.items():
            slot = self._slots.get(name)
            value = self._value(raw)
            if slot is None or value is None or not slot[_INV_STD]:
                continue
            scaled = max(-clip, min(clip, (value - slot[_MEAN]) * slot[_INV_STD]))
            terms[name] = slot[_WEIGHT] * scaled
        return terms

    def explain(self, features: Features) -> list[str]:
        return top_reasons(self.contributions(features), features)

    def predict_and_explain(self, features: Features) -> tuple[float, list[str]]:
        return self.predict_proba_one(features), self.explain(features)

    def learn_one(self, features: Features, label: bool, weight: float = 1.0) -> None:
        params = self.params
        # Like river's pipeline: the scaler learns first, then the model sees the scaled values.
        scaled: list[tuple[list[float], float]] = []
        for name, raw in features.items():
            value = self._value(raw)
            if value is None:
                continue
            slot = self._slots.get(name)
            if slot is None:
                if len(self._slots) >= params.max_features:
                    continue
                slot = self._slots[name] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
                if INDICATOR_MARK in name:  # predict reads (value - 0) * 1 / log1p(1): the value itself
                    slot[_INV_STD] = 1.0 / value if value > 0 else 1.0
                    slot[_INDICATOR] = 1.0
            slot[_COUNT] += 1
            if len(slot) > _INDICATOR and slot[_INDICATOR]:
                scaled.append((slot, max(-params.z_clip, min(params.z_clip, value * slot[_INV_STD]))))
                continue
            delta = value - slot[_MEAN]
            slot[_MEAN] += delta / slot[_COUNT]
            slot[_M2] += delta * (value - slot[_MEAN])
            variance = slot[_M2] / slot[_COUNT]
            slot[_INV_STD] = 1.0 / math.sqrt(variance) if variance > 1e-12 else 0.0
            if slot[_INV_STD]:
                z = (value - slot[_MEAN]) * slot[_INV_STD]
                scaled.append((slot, max(-params.z_clip, min(params.z_clip, z))))

        z = self._intercept + sum(slot[_WEIGHT] * x for slot, x in scaled)
        error = (logistic(z) - float(label)) * weight  # d(log loss)/d(logit)
        lr = params.learning_rate
        eps = params.adagrad_epsilon
        for slot, x in scaled:
            gradient = error * x + params.l2 * slot[_WEIGHT]
            if params.adagrad:
                slot[_G2] += gradient * gradient
                slot[_WEIGHT] -= lr * gradient / (math.sqrt(slot[_G2]) + eps)
            else:
                slot[_WEIGHT] -= lr * gradient
        if params.adagrad:
            self._intercept_g2 += error * error
            self._intercept -= params.intercept_learning_rate * error / (math.sqrt(self._intercept_g2) + eps)
        else:
            self._intercept -= params.intercept_learning_rate * error
        self._n_learned += 1

    def __repr__(self) -> str:
        return f"OnlineLogistic({self.params}, n_learned={self._n_learned})"
