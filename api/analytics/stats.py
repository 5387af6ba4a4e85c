"""The uplift figure: a difference of two conversion rates with its 95% confidence interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

Z95 = NormalDist().inv_cdf(0.975)
"""1.959963...: the two-sided 95% normal quantile."""


@dataclass(frozen=True)
class Rate:
    visitors: int
    converted: int

    @property
    def value(self) -> float | None:
        return self.converted / self.visitors if self.visitors else None

    def as_dict(self) -> dict[str, Any]:
        return {"visitors": self.visitors, "converted": self.converted, "rate": self.value}


def difference(treated: Rate, control: Rate, z: float = Z95) -> dict[str, Any]:
    """``treated - control`` with a Wald interval, ``d ± z·sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)``.

    None where a group is empty: no figure is better than an invented one. With
    a handful of visitors the interval is wide, which is the honest answer.
    """
    p1, p2 = treated.value, control.value
    if p1 is None or p2 is None:
        return {"difference": None, "ci95": None, "relative": None}
    d = p1 - p2
    half = z * math.sqrt(p1 * (1 - p1) / treated.visitors + p2 * (1 - p2) / control.visitors)
    return {"difference": d, "ci95": [d - half, d + half], "relative": d / p2 if p2 else None}
