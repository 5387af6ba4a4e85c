"""What a replay found: counts, reasons, timings and load, as plain JSON-ready data.

Kept apart from the simulation so the dashboard (#7) can render a report, or
two side by side, without importing the simulator.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HISTOGRAM_BINS = 20
"""The dashboard's score histogram's bins (api/analytics/figures.py uses this one)."""


def score_histogram(sessions: Iterable[tuple[float, bool]], bins: int = HISTOGRAM_BINS) -> list[dict[str, Any]]:
    """Sessions by their highest score (``(score, treated)`` each) in ``bins`` equal bins of [0, 1]."""
    rows = [{"from": i / bins, "to": (i + 1) / bins, "sessions": 0, "treated": 0} for i in range(bins)]
    for score, treated in sessions:
        row = rows[min(bins - 1, int(score * bins))]
        row["sessions"] += 1
        row["treated"] += treated
    return rows


@dataclass(frozen=True)
class Invitation:
    """One invitation the replayed policy made, treated as shown."""

    visitor: str
    session: str
    at_ms: int
    arrived_ms: int
    mode: str
    acceptance: float
    reasons: tuple[str, ...]


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values (a report must not invent a number)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class ReplayReport:
    site: str
    config_version: int
    agents: int
    capacity_slots: int
    entries: int = 0
    skipped_entries: int = 0  # other sites, no events
    events: int = 0
    invalid_events: int = 0
    ignored_outcomes: int = 0  # recorded invite_* events: answers to the old policy's invitations
    sessions: int = 0
    decisions: int = 0
    invitations: list[Invitation] = field(default_factory=list)
    invitations_by_reason: Counter[str] = field(default_factory=Counter)
    not_invited_by_reason: Counter[str] = field(default_factory=Counter)  # primary reason per decision
    sessions_not_invited_by_reason: Counter[str] = field(default_factory=Counter)  # last decision's primary reason
    peak_expected_load: float = 0.0
    threshold: float = 0.0
    candidate_scores: list[tuple[float, bool]] = field(default_factory=list)
    """Per session that became a candidate (only the score, the experiment or availability could stop it):
    its highest replayed score and whether its group may be invited."""

    def summary(self) -> dict[str, Any]:
        """The JSON report: everything but the per-invitation list."""
        waits = [(i.at_ms - i.arrived_ms) / 1000 for i in self.invitations]
        modes = Counter(i.mode for i in self.invitations)
        return {
            "site": self.site,
            "config_version": self.config_version,
            "entries": self.entries,
            "skipped_entries": self.skipped_entries,
            "events": self.events,
            "invalid_events": self.invalid_events,
            "ignored_outcomes": self.ignored_outcomes,
            "sessions": self.sessions,
            "decisions": self.decisions,
            "invitations": len(self.invitations),
            "invitations_by_mode": dict(sorted(modes.items())),
            "expected_acceptances": round(sum(i.acceptance for i in self.invitations), 3),
            "invitations_by_reason": dict(self.invitations_by_reason.most_common()),
            "not_invited_by_reason": dict(self.not_invited_by_reason.most_common()),
            "sessions_not_invited_by_reason": dict(self.sessions_not_invited_by_reason.most_common()),
            "time_to_invite_s": {
                "median": percentile(waits, 0.5),
                "p90": percentile(waits, 0.9),
            },
            "peak_expected_concurrent_chats": round(self.peak_expected_load, 3),
            "agents": self.agents,
            "capacity_slots": self.capacity_slots,
            "candidates": self.candidates(),
        }

    def candidates(self, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
        """The replayed scores as the dashboard's score histogram and threshold slider count them: candidate
        sessions by their highest score, and how many treated ones reached the threshold, before the
        sustain time, the caps and the agents decide which of them are invited."""
        reached = sum(1 for score, treated in self.candidate_scores if treated and score >= self.threshold - 1e-9)
        return {
            "sessions": len(self.candidate_scores),
            "threshold": self.threshold,
            "reached_threshold": reached,
            "histogram": score_histogram(self.candidate_scores, bins),
        }
