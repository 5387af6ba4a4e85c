"""Invariants of ``decide`` over random contexts: the promises no configuration can break.

Contexts are drawn mostly permissive (many would be invited), then each property
forces the rule under test to fail, so a broken rule shows up as an invitation.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.triggers.strategies import contexts, with_facts
from triggers import DecisionContext, Privacy, decide
from triggers import capacity as cap

FAST = settings(max_examples=200, deadline=None)


@FAST
@given(contexts(), st.floats(0.0, 1.0, exclude_max=True))
def test_decide__before_minimum_dwell__no_invite(context: DecisionContext, fraction: float) -> None:
    dwell_ms = int(context.config.timing.min_dwell_s * 1000 * fraction)
    if context.config.timing.min_dwell_s > 0:
        assert decide(with_facts(context, session_started_ms=context.now_ms - dwell_ms)).action == "none"


@FAST
@given(contexts())
def test_decide__during_chat__no_invite(context: DecisionContext) -> None:
    assert decide(context.model_copy(update={"in_chat": True})).action == "none"


@FAST
@given(contexts())
def test_decide__after_opt_out__no_invite(context: DecisionContext) -> None:
    assert decide(with_facts(context, opted_out=True)).action == "none"


@FAST
@given(contexts(), st.floats(0.0, 1.0, exclude_max=True))
def test_decide__within_dismiss_cooldown__no_invite(context: DecisionContext, fraction: float) -> None:
    cooldown_ms = context.config.respect.dismiss_cooldown_s * 1000
    if cooldown_ms > 0:
        dismissed = context.now_ms - int(cooldown_ms * fraction)
        assert decide(with_facts(context, last_dismissed_ms=dismissed)).action == "none"


@FAST
@given(contexts(), st.integers(0, 3))
def test_decide__over_a_cap__no_invite(context: DecisionContext, extra: int) -> None:
    respect = context.config.respect
    assert decide(with_facts(context, invites_shown_session=respect.max_per_session + extra)).action == "none"
    assert decide(with_facts(context, invites_shown_today=respect.max_per_day + extra)).action == "none"


@FAST
@given(contexts(), st.booleans())
def test_decide__privacy_signal_honoured__no_invite(context: DecisionContext, dnt: bool) -> None:
    privacy = Privacy(dnt=dnt, gpc=not dnt)  # both honoured by default
    assert decide(context.model_copy(update={"privacy": privacy})).action == "none"


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
