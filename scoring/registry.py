"""Scorers by name, for ``--model NAME``, the benchmarks and the check suite."""

from __future__ import annotations

from collections.abc import Callable

from scoring.base import Scorer
from scoring.blend import default_site_scorer
from scoring.model import OnlineLogistic
from scoring.prior import StrugglePrior
from scoring.river_adapter import plain_river_scorer

SCORERS: dict[str, Callable[[], Scorer]] = {
    "default": OnlineLogistic,  # the learned model alone: what evaluation on arbitrary CSVs measures
    "site": default_site_scorer,  # prior + model: what a site scores with
    "prior": StrugglePrior,
    "river-plain": plain_river_scorer,
}


def make_scorer(name: str) -> Scorer:
    try:
        return SCORERS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(SCORERS)}") from None
