"""Every analytics figure, as pure functions of what the store holds for a time window.

Inputs: the event log (what visitors did, with server-corrected times), the
decision journal (api/analytics/journal.py: how far each session got in the
policy, and every invitation with its page and variant), the daily counters and
the agent-load samples. docs/analytics.md defines each figure in words.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from api.analytics.journal import CANDIDATE, ELIGIBLE, ENGAGED
from api.analytics.stats import Rate, difference
from api.store import LogEntry
from tracker.merge import is_u_turn
from triggers.experiment import TREATED
from triggers.replay_report import score_histogram

THRESHOLD_STEPS = 100
STRUGGLE_KINDS = ("rage_click", "dead_click", "form_error")
TOP_PATHS = 20


@dataclass
class Invitation:
    invite: str
    visitor: str
    ts: int
    path: str | None
    variant: str | None
    mode: str | None
    score: float


@dataclass
class SessionFacts:
    visitor: str
    group: str | None = None
    stage: int = 0
    eligible_ms: int | None = None
    score: float | None = None  # the highest score recorded while a candidate
    reason: str | None = None  # primary reason at the furthest stage reached
    invites: list[Invitation] = field(default_factory=list)


def sessions_of(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], SessionFacts]:
    """Journal records merged per (visitor, session); duplicates from several workers change nothing."""
    sessions: dict[tuple[str, str], SessionFacts] = {}
    seen_invites: set[str] = set()
    for record in sorted(records, key=lambda r: r["ts"]):
        facts = sessions.setdefault((record["v"], record["s"]), SessionFacts(record["v"]))
        facts.group = record.get("g") or facts.group
        stage = int(record.get("st", 0))
        if stage >= facts.stage:
            facts.stage, facts.reason = stage, record.get("r")
        if stage >= ELIGIBLE and facts.eligible_ms is None:
            facts.eligible_ms = int(record["ts"])
        if record.get("sc") is not None:
            facts.score = max(facts.score or 0.0, float(record["sc"]))
        invite = record.get("i")
        if invite and invite not in seen_invites:
            seen_invites.add(invite)
            facts.invites.append(
                Invitation(
                    invite,
                    record["v"],
                    int(record["ts"]),
                    record.get("p"),
                    record.get("var"),
                    record.get("m"),
                    float(record.get("sc") or 0.0),
                )
            )
    return sessions


@dataclass
class Outcome:
    visitor: str
    shown_ms: int | None = None
    accepted: bool = False
    dismissed: bool = False


@dataclass
class LogFacts:
    visitors: set[str] = field(default_factory=set)
    conversions: defaultdict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    journeys: defaultdict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def log_facts(entries: Iterable[LogEntry]) -> LogFacts:
    facts = LogFacts()
    for entry in entries:
        facts.visitors.add(entry.visitor)
        journey = facts.journeys[(entry.visitor, entry.session)]
        for event in entry.events:
            kind = event.get("t")
            if kind == "conversion":
                facts.conversions[entry.visitor].append((int(event["ts"]), float(event.get("value") or 0.0)))
            elif kind in ("invite_shown", "invite_accepted", "invite_dismissed"):
                outcome = facts.outcomes.setdefault(event["invite"], Outcome(entry.visitor))
                if kind == "invite_shown":
                    outcome.shown_ms = min(outcome.shown_ms or int(event["ts"]), int(event["ts"]))
                outcome.accepted |= kind == "invite_accepted"
                outcome.dismissed |= kind == "invite_dismissed"
            elif kind == "page_view" or kind in STRUGGLE_KINDS:
                journey.append(event)
    return facts


def _ignored(outcome: Outcome, expires_ms: int, end_ms: int) -> bool:
    """Shown, never answered, and its time on screen over before the window ended."""
    return (
        outcome.shown_ms is not None
        and not outcome.accepted
        and not outcome.dismissed
        and outcome.shown_ms + expires_ms <= end_ms
    )


def funnel(
    logged: LogFacts,
    sessions: Mapping[tuple[str, str], SessionFacts],
    counters: Mapping[str, int],
    expires_ms: int,
    end_ms: int,
) -> dict[str, Any]:
    """Distinct visitors at each stage (chats are counted in chats, revenue in money)."""
    furthest: dict[str, int] = defaultdict(int)
    invited: set[str] = set()
    for facts in sessions.values():
        furthest[facts.visitor] = max(furthest[facts.visitor], facts.stage)
        if facts.invites:
            invited.add(facts.visitor)
    outcomes = logged.outcomes.values()
    shown = {o.visitor for o in outcomes if o.shown_ms is not None}
    csat_n = counters.get("csat_n", 0)
    return {
        "visitors": len(logged.visitors),
        "engaged": sum(1 for stage in furthest.values() if stage >= ENGAGED),
        "eligible": sum(1 for stage in furthest.values() if stage >= ELIGIBLE),
        "invited": len(invited),
        "shown": len(shown),
        "accepted": len({o.visitor for o in outcomes if o.accepted}),
        "dismissed": len({o.visitor for o in outcomes if o.dismissed}),
        "ignored": len({o.visitor for o in outcomes if _ignored(o, expires_ms, end_ms)}),
        "chats_requested": counters.get("chats_requested", 0),
        "chats_started": counters.get("chats_started", 0),
        "chats_resolved": counters.get("chats_resolved", 0),
        "chats_missed": counters.get("chats_missed", 0),
        "conversions": len([v for v, found in logged.conversions.items() if found]),
        "revenue": round(sum(value for found in logged.conversions.values() for _, value in found), 2),
        "csat": counters.get("csat_sum", 0) / csat_n if csat_n else None,
    }


def invitations(
    logged: LogFacts, sessions: Mapping[tuple[str, str], SessionFacts], expires_ms: int, end_ms: int
) -> dict[str, Any]:
    """Counted per invitation rather than per visitor."""
    made = [invite for facts in sessions.values() for invite in facts.invites]
    outcomes = list(logged.outcomes.values())
    return {
        "made": len(made),
        "by_mode": dict(sorted(Counter(i.mode or "agent" for i in made).items())),
        "shown": sum(1 for o in outcomes if o.shown_ms is not None),
        "accepted": sum(1 for o in outcomes if o.accepted),
        "dismissed": sum(1 for o in outcomes if o.dismissed),
        "ignored": sum(1 for o in outcomes if _ignored(o, expires_ms, end_ms)),
    }


def _eligible_visitors(sessions: Mapping[tuple[str, str], SessionFacts]) -> dict[str, tuple[str | None, int, bool]]:
    """visitor -> (group, first time eligible, invited in an eligible session)."""
    found: dict[str, tuple[str | None, int, bool]] = {}
    for facts in sessions.values():
        if facts.eligible_ms is None:
            continue
        group, since, invited = found.get(facts.visitor, (facts.group, facts.eligible_ms, False))
        found[facts.visitor] = (group or facts.group, min(since, facts.eligible_ms), invited or bool(facts.invites))
    return found


def uplift(logged: LogFacts, sessions: Mapping[tuple[str, str], SessionFacts]) -> dict[str, Any]:
    """Conversion of eligible visitors the engine invited vs eligible visitors held out.

    A visitor converts when the log has a conversion of theirs at or after the moment they first became
    eligible. ``intent_to_treat`` compares all eligible visitors the engine could invite (invited or not,
    e.g. for want of capacity) with the holdout: the unbiased check when capacity often says no.
    """

    def rate(visitors: list[tuple[str, int]]) -> Rate:
        converted = sum(
            1 for visitor, since in visitors if any(ts >= since for ts, _ in logged.conversions.get(visitor, ()))
        )
        return Rate(len(visitors), converted)

    eligible = _eligible_visitors(sessions)
    invited = rate([(v, since) for v, (g, since, inv) in eligible.items() if g in TREATED and inv])
    treated = rate([(v, since) for v, (g, since, _) in eligible.items() if g in TREATED])
    holdout = rate([(v, since) for v, (g, since, _) in eligible.items() if g == "holdout"])
    return {
        "invited": invited.as_dict(),
        "holdout": holdout.as_dict(),
        **difference(invited, holdout),
        "intent_to_treat": {"treated": treated.as_dict(), **difference(treated, holdout)},
    }


def reasons(counters: Mapping[str, int], sessions: Mapping[tuple[str, str], SessionFacts]) -> dict[str, Any]:
    """Decisions on which each rule failed (one decision can fail several), and sessions never invited by
    the primary reason at the furthest stage they reached."""
    by_rule = {name[2:]: count for name, count in counters.items() if name.startswith("d.")}
    uninvited = Counter(facts.reason or "none" for facts in sessions.values() if not facts.invites)
    return {
        "decisions": counters.get("decisions", 0),
        "decisions_by_reason": dict(sorted(by_rule.items(), key=lambda item: (-item[1], item[0]))),
        "sessions_not_invited_by_reason": dict(uninvited.most_common()),
    }


def histogram(sessions: Mapping[tuple[str, str], SessionFacts]) -> list[dict[str, Any]]:
    """Candidate sessions (only the score, the experiment or availability could stop them) by their
    highest score: the population any threshold chooses from."""
    return score_histogram(
        (facts.score, facts.group in TREATED)
        for facts in sessions.values()
        if facts.stage >= CANDIDATE and facts.score is not None
    )


def projection(
    sessions: Mapping[tuple[str, str], SessionFacts], hours: float, average_chat_s: int, capacity_slots: float | None
) -> list[dict[str, Any]]:
    """For each threshold 0.00..1.00: the invitations per hour and expected accepted chats per hour it would
    have made on this window's candidates, and whether the agents' slots could carry the chats.

    A treated candidate session is invited at threshold t when its highest score reached t, and accepts with
    that score as probability (what the engine itself assumes). Concurrent chats follow Little's law:
    accepted per hour times the average chat length.
    """
    scores = sorted(
        (
            facts.score
            for facts in sessions.values()
            if facts.stage >= CANDIDATE and facts.score is not None and facts.group in TREATED
        ),
        reverse=True,
    )
    rows = []
    for step in range(THRESHOLD_STEPS + 1):
        threshold = step / THRESHOLD_STEPS
        chosen = [s for s in scores if s >= threshold - 1e-9]
        per_hour = len(chosen) / hours if hours > 0 else 0.0
        accepted_per_hour = sum(chosen) / hours if hours > 0 else 0.0
        concurrent = accepted_per_hour * average_chat_s / 3600
        rows.append(
            {
                "threshold": threshold,
                "invitations_per_hour": round(per_hour, 4),
                "accepted_per_hour": round(accepted_per_hour, 4),
                "concurrent_chats": round(concurrent, 4),
                "agents_can_carry": None if capacity_slots is None else concurrent <= capacity_slots + 1e-9,
            }
        )
    return rows


def _rates(rows: Mapping[str, Counter[str]]) -> list[dict[str, Any]]:
    table = []
    for key, counts in rows.items():
        shown = counts["shown"]
        table.append(
            {
                "key": key,
                "invited": counts["invited"],
                "shown": shown,
                "accepted": counts["accepted"],
                "dismissed": counts["dismissed"],
                "acceptance_rate": counts["accepted"] / shown if shown else None,
                "dismissal_rate": counts["dismissed"] / shown if shown else None,
            }
        )
    return sorted(table, key=lambda row: (-row["invited"], row["key"]))


def outcome_rates(logged: LogFacts, sessions: Mapping[tuple[str, str], SessionFacts]) -> dict[str, Any]:
    """Acceptance and dismissal of shown invitations, by the page and the message variant of the invitation."""
    pages: defaultdict[str, Counter[str]] = defaultdict(Counter)
    variants: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for facts in sessions.values():
        for invite in facts.invites:
            outcome = logged.outcomes.get(invite.invite)
            for table, key in ((pages, page_of(invite.path)), (variants, invite.variant or f"({invite.mode})")):
                table[key]["invited"] += 1
                if outcome is not None:
                    table[key]["shown"] += outcome.shown_ms is not None
                    table[key]["accepted"] += outcome.accepted
                    table[key]["dismissed"] += outcome.dismissed
    return {"by_page": _rates(pages), "by_variant": _rates(variants)}


def page_of(path: str | None) -> str:
    """A path without its query or fragment: ``/search?q=x`` and ``/search?q=y`` are one page."""
    if not path:
        return "(unknown)"
    return path.split("?", 1)[0].split("#", 1)[0] or "/"


def hotspots(logged: LogFacts, top: int = TOP_PATHS) -> list[dict[str, Any]]:
    """Pages ranked by struggle: rage clicks, dead clicks and form errors on the page the visitor was on,
    and u-turns (left for another page and came back within 7 s: counted on the page they left)."""
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    viewers: defaultdict[str, set[str]] = defaultdict(set)
    for (visitor, _), events in logged.journeys.items():
        current: str | None = None
        views: list[tuple[int, str]] = []
        for event in sorted(events, key=lambda e: e["ts"]):
            if event["t"] == "page_view":
                current = page_of(event.get("path"))
                viewers[current].add(visitor)
                views.append((int(event["ts"]), current))
                if len(views) >= 3:
                    (_, a), (t_b, b), (t_c, c) = views[-3:]
                    if is_u_turn(a, b, c, t_b, t_c):
                        counts[b]["u_turn"] += 1
            elif current is not None:
                counts[current][str(event["t"])] += 1
    rows: list[dict[str, Any]] = []
    for page, found in counts.items():
        total = sum(found[kind] for kind in (*STRUGGLE_KINDS, "u_turn"))
        if total:
            rows.append(
                {
                    "page": page,
                    "visitors": len(viewers[page]),
                    "rage_clicks": found["rage_click"],
                    "dead_clicks": found["dead_click"],
                    "form_errors": found["form_error"],
                    "u_turns": found["u_turn"],
                    "total": total,
                    "per_visitor": round(total / len(viewers[page]), 3) if viewers[page] else None,
                }
            )
    return sorted(rows, key=lambda row: (-row["total"], row["page"]))[:top]


def agent_load(samples: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Agent load over time, and the window's average and smallest capacity (in chat slots)."""
    series = [dict(sample) for sample in samples]
    slots = [float(s.get("slots", 0)) for s in series]
    return {
        "series": series,
        "mean_slots": sum(slots) / len(slots) if slots else None,
        "min_slots": min(slots) if slots else None,
        "peak_active": max((int(s.get("active", 0)) for s in series), default=None),
    }
