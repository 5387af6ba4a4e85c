"""Invariants of ``decide`` over random contexts: the promises no configuration can break.

Each respect and timing property starts from a context that is invited (``inviting``) and asserts so, then
breaks the one rule under test and asserts that the decision is no invitation, for that rule's reason: a
deleted or broken rule shows up as an invitation.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.triggers.strategies import contexts, with_facts
from triggers import DecisionContext, Privacy, decide
from triggers import capacity as cap
from triggers import reasons as r

FAST = settings(max_examples=200, deadline=None)


def _permissive(context: DecisionContext) -> DecisionContext:
    """The same context with every respect and timing rule satisfied: long on the site, never invited or
    dismissed, no chat, no privacy signal, a high score held for ten minutes."""
    long_ago = context.now_ms - 600_000
    clean = with_facts(
        context,
        opted_out=False,
        invites_shown_session=0,
        invites_shown_today=0,
        last_invite_ms=None,
        last_dismissed_ms=None,
        session_started_ms=long_ago,
    )
    return clean.model_copy(
        update={
            "in_chat": False,
            "privacy": Privacy(),
            "score": max(clean.score, 0.95),
            "above_threshold_since_ms": long_ago,
        }
    )


def inviting() -> st.SearchStrategy[DecisionContext]:
    """Contexts that are invited, as they are: the base case of every property below, so that deleting
    a rule turns its property red."""
    return contexts().map(_permissive).filter(lambda context: decide(context).action == "invite")


def _blocked(context: DecisionContext, code: str) -> None:
    decision = decide(context)
    assert decision.action == "none", f"invited although {code} should block"
    assert code in decision.reasons, decision.reasons


@FAST
@given(inviting(), st.floats(0.0, 1.0, exclude_max=True))
def test_decide__before_minimum_dwell__too_early(context: DecisionContext, fraction: float) -> None:
    assert decide(context).action == "invite"
    min_dwell_ms = context.config.timing.min_dwell_s * 1000
    if min_dwell_ms > 0:
        _blocked(with_facts(context, session_started_ms=context.now_ms - int(min_dwell_ms * fraction)), r.TOO_EARLY)


@FAST
@given(inviting())
def test_decide__during_chat__in_chat(context: DecisionContext) -> None:
    assert decide(context).action == "invite"
    _blocked(context.model_copy(update={"in_chat": True}), r.IN_CHAT)


@FAST
@given(inviting())
def test_decide__after_opt_out__opted_out(context: DecisionContext) -> None:
    assert decide(context).action == "invite"
    _blocked(with_facts(context, opted_out=True), r.OPTED_OUT)


@FAST
@given(inviting(), st.floats(0.0, 1.0, exclude_max=True))
def test_decide__within_dismiss_cooldown__cooldown_after_dismiss(context: DecisionContext, fraction: float) -> None:
    assert decide(context).action == "invite"
    cooldown_ms = context.config.respect.dismiss_cooldown_s * 1000
    if cooldown_ms > 0:
        dismissed = context.now_ms - int(cooldown_ms * fraction)
        _blocked(with_facts(context, last_dismissed_ms=dismissed), r.COOLDOWN_AFTER_DISMISS)


@FAST
@given(inviting(), st.integers(0, 3))
def test_decide__over_a_cap__cap_reached(context: DecisionContext, extra: int) -> None:
    assert decide(context).action == "invite"
    respect = context.config.respect
    _blocked(with_facts(context, invites_shown_session=respect.max_per_session + extra), r.CAP_REACHED)
    _blocked(with_facts(context, invites_shown_today=respect.max_per_day + extra), r.DAILY_CAP_REACHED)


@FAST
@given(inviting(), st.booleans())
def test_decide__privacy_signal_honoured__do_not_track(context: DecisionContext, dnt: bool) -> None:
    assert decide(context).action == "invite"
    privacy = Privacy(dnt=dnt, gpc=not dnt)  # both honoured by default
    _blocked(context.model_copy(update={"privacy": privacy}), r.DO_NOT_TRACK)


@FAST
@given(contexts())
def test_decide__holdout_visitor__never_invited(context: DecisionContext) -> None:
    decision = decide(context)
    if decision.group in {"holdout", "outside"}:
        assert decision.action == "none"


@FAST
@given(contexts())
def test_decide__agent_invite__expected_chats_fit_free_slots(context: DecisionContext) -> None:
    decision = decide(context)
    if decision.mode == "agent":
        promised = sum(context.capacity.pending_invites) + context.expected_acceptance
        assert promised <= cap.free_slots(context.config.capacity, context.capacity) + 1e-6


@FAST
@given(contexts())
def test_decide__same_inputs__same_decision(context: DecisionContext) -> None:
    again = DecisionContext.model_validate(context.model_dump(mode="json"))
    first = decide(context)
    assert decide(context) == first
    assert decide(again) == first


@FAST
@given(contexts())
def test_decide__every_decision__explains_itself(context: DecisionContext) -> None:
    decision = decide(context)
    assert decision.primary_reason is not None
    assert 0.0 <= decision.propensity <= 1.0
    assert (decision.invite is not None) == (decision.action == "invite")
    assert not (decision.pacing_candidate and decision.action == "invite")


def test_contexts__often_invite__so_the_properties_can_fail() -> None:
    """Guard for the strategy itself: if almost nothing is invited, the properties above prove nothing."""
    decisions: list[str] = []

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(contexts())
    def collect(context: DecisionContext) -> None:
        decisions.append(decide(context).action)

    collect()
    assert decisions.count("invite") / len(decisions) > 0.04
