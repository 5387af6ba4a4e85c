"""What a proving-ground run shows: precision, recall before visitors give up, latency, who was invited
without needing help, acceptance, exploration, per slice of the run (the learning curve), and the
fixed-delay rule at equal recall, computed from the same visits.

Definitions (docs/scoring.md repeats them):

- an invitation *reaches* a wanted struggler when it is made after their struggle began and before they
  leave; **precision** is the share of all invitations that reach one;
- **recall** is the share of wanted strugglers, outside the holdout (never invited, by design), that an
  invitation reached;
- **latency** is struggle onset to the first invitation that reached them;
- **invited without need**: visits of the kinds that need no help (or decline it) with any invitation;
  of them, those **only by exploration** were invited below the threshold on purpose (a logged
  propensity, ``experiment.exploration``), so the model hears from visitors its judgement would pass by.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from loadtests.proving.ground import Invitation, VisitResult


def _reaching(result: VisitResult) -> Invitation | None:
    visit = result.visit
    if not visit.wanted or visit.onset_ms is None:
        return None
    return next((inv for inv in result.invitations if visit.onset_ms <= inv.at_ms < visit.leave_ms), None)


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 2)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


STRAY_SIGNALS = frozenset({"dead_click", "js_error", "rage_click"})


def stray_signals(result: VisitResult) -> int:
    """How many struggle signals a visit's script holds: dead and rage clicks, script errors and empty
    searches (for a browser, each one an accident)."""
    return sum(
        1
        for _, event in result.visit.events
        if event["t"] in STRAY_SIGNALS or (event["t"] == "search" and event.get("results") == 0)
    )


def _by_score(result: VisitResult) -> bool:
    """Invited by the score: at least one invitation that exploration did not make."""
    return any("explored" not in inv.reasons for inv in result.invitations)


def by_stray_signals(results: Sequence[VisitResult], kind: str = "browser") -> dict[str, dict[str, int]]:
    """Visits of ``kind`` outside the holdout by their number of stray signals: how many, and how many the
    score invited."""
    table: dict[str, dict[str, int]] = {}
    for result in results:
        if result.visit.kind != kind or result.group == "holdout":
            continue
        row = table.setdefault(str(stray_signals(result)), {"visits": 0, "invited_by_score": 0})
        row["visits"] += 1
        row["invited_by_score"] += _by_score(result)
    return dict(sorted(table.items()))


def summarise(results: Sequence[VisitResult]) -> dict[str, Any]:
    """The figures over some visits (all of a run, or one slice of it)."""
    counted = list(results)
    invitations = [inv for r in results for inv in r.invitations]
    eligible = [r for r in counted if r.visit.wanted and r.group != "holdout"]
    reached = [(r, inv) for r in eligible if (inv := _reaching(r)) is not None]
    latencies = [(inv.at_ms - (r.visit.onset_ms or 0)) / 1000 for r, inv in reached]
    reaching = sum(1 for r in results for inv in r.invitations if inv is _reaching(r))
    unneeded = Counter(r.visit.kind for r in results if r.invitations and not r.visit.wanted)
    explored_only = Counter(r.visit.kind for r in results if r.invitations and not r.visit.wanted and not _by_score(r))
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted({r.visit.kind for r in counted}):
        of_kind = [r for r in counted if r.visit.kind == kind and r.group != "holdout"]
        by_kind[kind] = {
            "visits": len(of_kind),
            "invited": sum(1 for r in of_kind if r.invitations),
            "invited_share": _ratio(sum(1 for r in of_kind if r.invitations), len(of_kind)),
        }
    outcomes = Counter(inv.outcome for inv in invitations)
    return {
        "visits": len(counted),
        "wanted_strugglers": len(eligible),
        "invitations": len(invitations),
        "precision": _ratio(reaching, len(invitations)),
        "recall": _ratio(len(reached), len(eligible)),
        "latency_s": {"median": _quantile(latencies, 0.5), "p90": _quantile(latencies, 0.9)},
        "invited_without_need": dict(sorted(unneeded.items())),
        "invited_without_need_only_by_exploration": dict(sorted(explored_only.items())),
        "acceptance": _ratio(outcomes["accepted"], len(invitations)),
        "outcomes": dict(sorted(outcomes.items())),
        "explored_share": _ratio(sum(1 for inv in invitations if "explored" in inv.reasons), len(invitations)),
        "modes": dict(sorted(Counter(inv.mode for inv in invitations).items())),
        "by_kind": by_kind,
    }


def slices(results: Sequence[VisitResult], count: int) -> list[dict[str, Any]]:
    """The run cut into ``count`` equal parts by arrival: how the figures move as the site learns."""
    counted = sorted(results, key=lambda r: r.visit.arrive_ms)
    size = max(1, len(counted) // count)
    parts = []
    for index in range(count):
        part = counted[index * size : (index + 1) * size if index < count - 1 else len(counted)]
        if part:
            parts.append({"slice": index + 1, "until_ms": part[-1].visit.arrive_ms} | summarise(part))
    return parts


def once_learned(curve: Sequence[dict[str, Any]], labels: int, until: int | None = None) -> tuple[int, int] | None:
    """When the site's model had learned from ``labels`` labels, and (with ``until``) when from that many: the
    arrival window that "within 150 labels" is measured on. ``curve`` is the learning run's learning curve;
    ``arrived`` then picks the same visits from any run of them (the prior alone's, for comparison)."""
    start = next((point["at_ms"] for point in curve if point["n_learned"] >= labels), None)
    if start is None:
        return None
    end = next((point["at_ms"] for point in curve if until is not None and point["n_learned"] >= until), None)
    return start, end if end is not None else 2**62


def arrived(results: Sequence[VisitResult], window: tuple[int, int] | None) -> list[VisitResult]:
    """The visits that arrived within ``window`` (from ``once_learned``); none without one."""
    if window is None:
        return []
    return [r for r in results if window[0] <= r.visit.arrive_ms < window[1]]


def fixed_delay(results: Sequence[VisitResult], target_recall: float | None) -> dict[str, Any]:
    """A rule that invites every visitor (outside the holdout) once, ``delay`` seconds into their visit.

    Scored on the same visits by their ground truth: it reaches a wanted struggler when the delay falls
    between their onset and their leaving. The delay reported is the most precise one whose recall is at
    least the engine's (the most favourable to the rule); when none gets there, the one with the best recall."""
    counted = [r for r in results if r.group != "holdout"]
    wanted = [r for r in counted if r.visit.wanted]
    rows: list[dict[str, Any]] = []
    for delay_s in range(0, 601, 5):
        delay_ms = delay_s * 1000
        invited = [r for r in counted if r.visit.arrive_ms + delay_ms < r.visit.leave_ms]
        hits = [
            r
            for r in wanted
            if r.visit.onset_ms is not None and r.visit.onset_ms <= r.visit.arrive_ms + delay_ms < r.visit.leave_ms
        ]
        latencies = [(r.visit.arrive_ms + delay_ms - (r.visit.onset_ms or 0)) / 1000 for r in hits]
        rows.append(
            {
                "delay_s": delay_s,
                "invitations": len(invited),
                "recall": _ratio(len(hits), len(wanted)) or 0.0,
                "precision": _ratio(len(hits), len(invited)),
                "latency_s": {"median": _quantile(latencies, 0.5), "p90": _quantile(latencies, 0.9)},
            }
        )
    enough = [row for row in rows if target_recall is not None and row["recall"] >= target_recall]
    best = max(enough, key=lambda row: row["precision"] or 0.0) if enough else max(rows, key=lambda row: row["recall"])
    return best | {"target_recall": target_recall}
