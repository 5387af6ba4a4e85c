"""How many store round trips a collect costs: measured by a meter the app is built with.

Production builds its store and engine with ``NO_METER``, whose calls do nothing. The benchmark
(``loadtests/bench_app.py``) builds the same app with a ``CountingMeter`` and reads it there; the
served product has no endpoint for it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol


class Meter(Protocol):
    def collecting(self) -> None:
        """The current task handles a collect request: its round trips from now count against collect."""

    def round_trip(self) -> None:
        """One request went to the store (a script call or a whole pipeline is one)."""


class NoMeter:
    """Measures nothing: what production runs with."""

    def collecting(self) -> None:
        pass

    def round_trip(self) -> None:
        pass


NO_METER = NoMeter()


class CountingMeter:
    """Collect requests, and round trips split by whether a collect or background work made them."""

    def __init__(self) -> None:
        self.collect_requests = 0
        self.round_trips = {"collect": 0, "other": 0}
        # One per meter, not per request: a request's task sets it, so its store calls count against it.
        self._collecting: ContextVar[bool] = ContextVar("collecting", default=False)

    def collecting(self) -> None:
        self.collect_requests += 1
        self._collecting.set(True)

    def round_trip(self) -> None:
        self.round_trips["collect" if self._collecting.get() else "other"] += 1

    def reading(self) -> dict[str, object]:
        return {"collect_requests": self.collect_requests, "store_round_trips": dict(self.round_trips)}
