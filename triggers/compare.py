"""The engine against the fixed-delay rule open-source chat widgets ship, on a log with its ground truth.

The fixed-delay rule invites anyone who has been on a page for N seconds (once
per session, on the same pages). For a fair comparison both are replayed on the
same log and N is chosen so that both make (as near as possible) the same number
of invitations; then what differs is *who* is invited and *when*: the share of
invitations that reach strugglers, and the time from struggle onset to the
invitation. The engine scores as a new site does: the cold-start scorer of
``scoring`` (the documented struggle prior, nothing learned yet).

The traffic is given: an event log as ``triggers.replay`` reads it, and per session the truth the log cannot
hold (whether the visitor needs help, when their struggle began). ``python -m api.compare_cli [--visitors N]
[--seed S]`` makes it from the proving ground's visitors (``loadtests.proving.log.traffic``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scoring import default_site_scorer
from triggers.config import SiteConfig
from triggers.context import Decision, DecisionContext
from triggers.presets import demo_config
from triggers.replay import Policy, ReplayOptions, replay
from triggers.replay_report import Invitation, percentile


@dataclass(frozen=True)
class Truth:
    """What the log cannot say about one session."""

    visitor: str
    session: str
    kind: str
    arrived_ms: int
    onset_ms: int | None
    """When struggle began; None for sessions that never struggle."""
    wanted: bool
    """Whether the visitor needs help and would take it: who an invitation should reach."""


@dataclass(frozen=True)
class Traffic:
    entries: list[dict[str, Any]]
    """The event log, in order of arrival: ``site``, ``visitor``, ``session``, ``received_ms``, ``events``."""
    truth: dict[str, Truth]
    """Per session id."""


def fixed_delay(delay_s: float) -> Policy:
    """Invite after ``delay_s`` seconds on one page, once per session, on the targeted pages."""

    def policy(context: DecisionContext) -> Decision:
        facts = context.facts
        due = (
            context.features.get("time_on_page_s", 0.0) >= delay_s
            and facts.invites_shown_session == 0
            and context.config.targeting.path_allowed(facts.path)
        )
        common: dict[str, Any] = {"score": context.score, "group": "rollout", "propensity": 1.0}
        if not due:
            return Decision(action="none", reasons=["fixed_delay_not_due"], **common)
        return Decision(
            action="invite", mode="agent", invite=f"i_fixed_{context.now_ms}", reasons=["fixed_delay"], **common
        )

    return policy


def comparison_config() -> SiteConfig:
    """The demo shop's policy on every page but help, with every visitor treated and no closing time, so only
    targeting differs."""
    config = demo_config(["*"])
    experiment = config.experiment.model_copy(update={"holdout": 0.0, "exploration": 0.0})
    targeting = config.targeting.model_copy(
        update={"include_paths": ["/**"], "exclude_paths": [*config.targeting.exclude_paths, "/help", "/help/**"]}
    )
    return config.model_copy(update={"hours": None, "experiment": experiment, "targeting": targeting})


@dataclass(frozen=True)
class Outcome:
    invitations: int
    to_strugglers: int
    strugglers: int
    before_onset: int
    onset_to_invite_s: list[float]

    def figures(self) -> dict[str, Any]:
        waits = self.onset_to_invite_s
        return {
            "invitations": self.invitations,
            "share_to_strugglers": round(self.to_strugglers / self.invitations, 3) if self.invitations else None,
            "strugglers_reached": f"{self.to_strugglers}/{self.strugglers}",
            "invited_before_struggle_began": self.before_onset,
            "onset_to_invite_s": {"median": _round(percentile(waits, 0.5)), "p90": _round(percentile(waits, 0.9))},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def outcome(traffic: Traffic, invitations: list[Invitation]) -> Outcome:
    strugglers = {session: t for session, t in traffic.truth.items() if t.wanted}
    reached = [i for i in invitations if i.session in strugglers]
    waits = [
        (i.at_ms - onset) / 1000 for i in reached if (onset := strugglers[i.session].onset_ms) and i.at_ms >= onset
    ]
    return Outcome(len(invitations), len(reached), len(strugglers), len(reached) - len(waits), waits)


@dataclass(frozen=True)
class Moment:
    visitor: str
    session: str
    at_ms: int
    arrived_ms: int
    on_page_s: float


def observe(moments: list[Moment]) -> Policy:
    """A policy that never invites and notes, at each decision, how long the visitor has been on the page.

    The fixed-delay rule depends on nothing else (no capacity, once per session), so one
    replay with this policy answers "what would a delay of N seconds do" for every N.
    """

    def policy(context: DecisionContext) -> Decision:
        facts = context.facts
        if context.config.targeting.path_allowed(facts.path):
            on_page = context.features.get("time_on_page_s", 0.0)
            started = facts.session_started_ms or context.now_ms
            moments.append(Moment(context.visitor, facts.session, context.now_ms, started, on_page))
        return Decision(action="none", reasons=["observed"], score=context.score, group="rollout", propensity=1.0)

    return policy


def fixed_delay_invitations(moments: list[Moment], delay_s: float) -> list[Invitation]:
    """The first moment of each session with ``delay_s`` seconds on the page, as an invitation."""
    invited: dict[tuple[str, str], Invitation] = {}
    for moment in moments:
        key = (moment.visitor, moment.session)
        if moment.on_page_s >= delay_s and key not in invited:
            invited[key] = Invitation(
                moment.visitor, moment.session, moment.at_ms, moment.arrived_ms, "agent", 1.0, ("fixed_delay",)
            )
    return list(invited.values())


def matching_delay(moments: list[Moment], target: int, low: int = 1, high: int = 900) -> int:
    """The whole-second delay whose invitation count is nearest ``target`` (counts fall as delays grow)."""

    def count(delay: int) -> int:
        return len(fixed_delay_invitations(moments, delay))

    while high - low > 1:
        middle = (low + high) // 2
        if count(middle) > target:
            low = middle
        else:
            high = middle
    return min((low, high), key=lambda delay: (abs(count(delay) - target), -delay))


def compare(traffic: Traffic, tick_s: float = 1.0) -> dict[str, Any]:
    """Both policies on ``traffic``'s log (of the demo site), judged by its truth: who needed help, and when."""
    config = comparison_config()
    options = ReplayOptions(agents=100, tick_s=tick_s)  # capacity never binds: only who and when differ
    scorer = default_site_scorer()
    engine = replay(traffic.entries, config, scorer.predict_proba_one, explain=scorer.explain, options=options)
    moments: list[Moment] = []
    replay(traffic.entries, config, scorer.predict_proba_one, options=options, policy=observe(moments))
    delay = matching_delay(moments, len(engine.invitations))
    return {
        "traffic": {"sessions": len(traffic.truth), "needing_help": _needing_help(traffic), "kinds": _kinds(traffic)},
        "score": "cold-start scorer (scoring.default_site_scorer: the struggle prior, nothing learned)",
        "engine": outcome(traffic, engine.invitations).figures(),
        f"fixed_delay_{delay}s": outcome(traffic, fixed_delay_invitations(moments, delay)).figures(),
    }


def _kinds(traffic: Traffic) -> dict[str, int]:
    counts: dict[str, int] = {}
    for truth in traffic.truth.values():
        counts[truth.kind] = counts.get(truth.kind, 0) + 1
    return dict(sorted(counts.items()))


def _needing_help(traffic: Traffic) -> int:
    return sum(truth.wanted for truth in traffic.truth.values())
