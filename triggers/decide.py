"""``decide(context) -> Decision``: the whole trigger policy as one pure function.

No clock, no I/O, no global randomness: the time, the score, the capacity and
the history are inputs, and experiment groups come from a hash of ids. So the
same context always gives the same decision, live, in a replay, and in a golden
test. Rules are checked in a fixed order and every failed rule is reported, so
a "no" explains itself as well as a "yes" does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.features import STRUGGLE_SIGNALS
from triggers import capacity as cap
from triggers import reasons as r
from triggers.context import Decision, DecisionContext, Mode, Person
from triggers.experiment import Group
from triggers.fallback import BotMenu, FallbackMode
from triggers.hashing import invite_id

MAX_SIGNALS = 3


@dataclass
class _Offer:
    """What availability allows: a mode to invite in, or why not."""

    mode: Mode | None
    codes: list[str] = field(default_factory=list)
    pacing_candidate: bool = False
    message: str | None = None
    expected_wait_s: int | None = None
    person: Person | None = None
    opening_hours: str | None = None
    next_opening: str | None = None
    menu: BotMenu | None = None
    leave_message: bool = False


def evidence_since(context: DecisionContext) -> int | None:
    """Since when the score has been at or above the threshold in this session, as of now."""
    if context.score < context.config.timing.score_threshold:
        return None
    since = context.above_threshold_since_ms
    started = context.facts.session_started_ms
    if since is None or since > context.now_ms or (started is not None and since < started):
        return context.now_ms
    return since


def _respect(context: DecisionContext) -> list[str]:
    facts, respect, now = context.facts, context.config.respect, context.now_ms
    privacy = context.privacy
    checks = {
        r.OPTED_OUT: facts.opted_out,
        r.DO_NOT_TRACK: (privacy.dnt and respect.honour_dnt) or (privacy.gpc and respect.honour_gpc),
        r.IN_CHAT: context.in_chat,
        r.CAP_REACHED: facts.invites_shown_session >= respect.max_per_session,
        r.DAILY_CAP_REACHED: facts.invites_shown_today >= respect.max_per_day,
        r.COOLDOWN_AFTER_DISMISS: facts.last_dismissed_ms is not None
        and now - facts.last_dismissed_ms < respect.dismiss_cooldown_s * 1000,
        r.RECENTLY_INVITED: facts.last_invite_ms is not None and now - facts.last_invite_ms < respect.min_gap_s * 1000,
    }
    return [code for code, failed in checks.items() if failed]


def _targeting(context: DecisionContext) -> list[str]:
    targeting = context.config.targeting
    codes = [] if targeting.path_allowed(context.facts.path) else [r.EXCLUDED_PATH]
    return codes if targeting.audience.matches(context.facts) else [*codes, r.NOT_TARGETED]


def _timing(context: DecisionContext, since: int | None) -> tuple[list[str], bool, int | None]:
    """Engagement and sustained evidence; whether a burst shortened the wait; and how long it still
    has to be sustained (ms), when that is all that is missing of the timing."""
    timing, facts, now = context.config.timing, context.facts, context.now_ms
    codes = []
    dwell_ms = now - facts.session_started_ms if facts.session_started_ms is not None else 0
    if dwell_ms < timing.min_dwell_s * 1000:
        codes.append(r.TOO_EARLY)
    if context.features.get("pages_viewed", 0.0) < timing.min_pages:
        codes.append(r.TOO_FEW_PAGES)
    burst = since is not None and timing.burst is not None and timing.burst.present(context.features)
    remaining_ms = None
    if since is not None:
        needed_s = timing.burst.sustain_s if burst and timing.burst is not None else timing.sustain_s
        if now - since < needed_s * 1000:
            remaining_ms = None if codes else int(since + needed_s * 1000 - now)
            codes.append(r.NOT_SUSTAINED)
    return codes, burst, remaining_ms


def _fallback(context: DecisionContext, mode: FallbackMode, code: str, person: Person) -> _Offer:
    """The configured fallback. A bot card keeps its handoff (with the expected wait) while agents are online
    but busy, and offers the leave-a-message form beside its answers when the site has it."""
    config = context.config
    hours = config.hours
    closed = person == "closed"
    opening = hours.next_opening(context.now_ms) if hours is not None and closed else None
    offer = _Offer(
        mode=None,
        codes=[code],
        person=person,
        opening_hours=hours.summary() if hours is not None and closed else None,
        next_opening=opening.isoformat() if opening is not None else None,
    )
    person_available = person == "busy"
    menu = config.fallback.bot.for_visitor(person_available) if mode == "bot" else None
    if menu is not None:
        offer.mode, offer.message, offer.menu = "bot", config.fallback.bot.greeting, menu
        offer.leave_message = config.fallback.offline.leave_message
        if person_available:
            offer.expected_wait_s = cap.expected_wait_s(config.capacity, context.capacity, context.expected_acceptance)
    elif mode != "suppress":
        offer.mode, offer.message = "offline", config.fallback.offline.message
        offer.leave_message = config.fallback.offline.leave_message
    else:
        offer.pacing_candidate = not closed
    return offer


def _availability(context: DecisionContext) -> _Offer:
    """Whether a person can answer now; if not, the configured fallback."""
    config, snapshot = context.config, context.capacity
    if config.hours is not None and not config.hours.is_open(context.now_ms):
        return _fallback(context, config.fallback.when_closed, r.OUTSIDE_HOURS, "closed")
    acceptance = context.expected_acceptance
    free_room = cap.room(config.capacity, snapshot)
    if not cap.fits(config.capacity, free_room, acceptance):
        person: Person = "busy" if snapshot.agents else "nobody"
        return _fallback(context, config.fallback.when_no_capacity, r.NO_CAPACITY, person)
    if not cap.ranks_within(config.capacity, free_room, context.visitor, priority(context), acceptance, context.rivals):
        return _Offer(mode=None, codes=[r.OUTRANKED], pacing_candidate=True)
    return _Offer(mode="agent", expected_wait_s=0, person="available")


def priority(context: DecisionContext) -> float:
    """This visitor's rank for a scarce slot (``capacity.ranking``), as the pacing pool records it."""
    if context.config.capacity.ranking != "benefit":
        return context.score
    exit_ms = context.facts.exit_intent_ms
    return cap.benefit(
        context.score,
        context.features.get("recent_struggle", 0.0),
        None if exit_ms is None else context.now_ms - exit_ms,
    )


def _signals(context: DecisionContext) -> list[str]:
    """The model's strongest signals; without an explanation, the largest struggle counts."""
    if context.explanation:
        return [s for s in context.explanation if s not in r.RANK][:MAX_SIGNALS]
    present = [(-context.features.get(name, 0.0), name) for name in STRUGGLE_SIGNALS]
    return [name for value, name in sorted(present) if value < 0][:MAX_SIGNALS]


def _ordered(codes: list[str]) -> list[str]:
    return sorted(set(codes), key=r.RANK.__getitem__)


def _no_invite(
    context: DecisionContext,
    group: Group,
    since: int | None,
    codes: list[str],
    propensity: float,
    pacing_candidate: bool = False,
) -> Decision:
    return Decision(
        action="none",
        score=context.score,
        reasons=_ordered(codes) + _signals(context),
        group=group,
        propensity=propensity,
        pacing_candidate=pacing_candidate,
        evidence_since_ms=since,
        config_version=context.config.version,
    )


def decide(context: DecisionContext) -> Decision:
    """Invite this visitor now or not, how, and why."""
    config = context.config
    group = config.experiment.group(config.site, context.visitor)
    threshold = config.timing.score_threshold
    above = context.score >= threshold
    explorable = above or context.score >= config.experiment.exploration_floor * threshold
    since = evidence_since(context)
    timing_codes, burst, remaining_ms = _timing(context, since)
    blockers = [*_respect(context), *_targeting(context), *timing_codes]
    # Only the sustain is missing: the tracker asks again when it is over, even if the visitor is still.
    recheck_ms = remaining_ms if remaining_ms is not None and blockers == [r.NOT_SUSTAINED] else None
    offer = _availability(context) if not blockers else None
    # Probability of an invitation over the group draw, had this visitor been in any group.
    p_invite = 0.0
    if offer is not None and offer.mode is not None and explorable:
        p_invite = round(config.experiment.invite_probability(needs_exploration=not above), 9)
    experiment_codes = [r.BELOW_THRESHOLD] if not above and (group != "explore" or not explorable) else []
    experiment_codes += {"holdout": [r.HOLDOUT], "outside": [r.NOT_IN_ROLLOUT]}.get(group, [])
    if offer is None or experiment_codes:
        decision = _no_invite(context, group, since, blockers + experiment_codes, round(1.0 - p_invite, 9))
        return decision.model_copy(update={"recheck_in_ms": recheck_ms}) if recheck_ms and above else decision
    if offer.mode is None:
        waiting = _no_invite(context, group, since, offer.codes, 1.0, offer.pacing_candidate)
        return waiting.model_copy(update={"priority": priority(context)}) if offer.pacing_candidate else waiting
    why = [r.SCORE_ABOVE_THRESHOLD] if above else [r.EXPLORED]
    message, variant = offer.message, None
    if offer.mode == "agent":
        picked = config.messages.pick(context.facts.path, config.site, context.visitor, config.experiment.salt)
        message, variant = picked.text, picked.id
    return Decision(
        action="invite",
        mode=offer.mode,
        invite=invite_id(config.site, context.visitor, context.facts.session, context.now_ms),
        message=message,
        variant=variant,
        expires_in=config.timing.expires_in_s,
        score=context.score,
        reasons=_ordered(offer.codes + why + ([r.BURST] if burst else [])) + _signals(context),
        group=group,
        propensity=p_invite,
        expected_wait_s=offer.expected_wait_s,
        person=offer.person,
        opening_hours=offer.opening_hours,
        next_opening=offer.next_opening,
        menu=offer.menu,
        leave_message=offer.leave_message,
        evidence_since_ms=since,
        config_version=config.version,
    )
