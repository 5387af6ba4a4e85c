"""Through /v1/collect on a simulated clock: who gets invited, when, and in which mode."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

from tests.api.shopping import Clock, Visitor, agents_online, rollout_visitors, shop_config, struggle


def test_collect__struggler_after_dwell__invited_within_10s_calm_reader_not(shop: TestClient, clock: Clock) -> None:
    agents_online(shop, 1)
    ids = rollout_visitors(shop_config())
    struggler, reader = Visitor(shop, clock, next(ids)), Visitor(shop, clock, next(ids))

    struggler.browse(until=25)
    invited_at = struggle(struggler, onset=25)
    reader.browse(until=120)

    assert invited_at is not None and 25 < invited_at <= 35
    decision = struggler.decisions[0][1]
    assert decision["action"] == "invite" and decision["mode"] == "agent"
    assert decision["message"] in (
        "Need a hand with the checkout?",
        "Stuck? A real person can help you finish your order.",
    )
    assert "score_above_threshold" in decision["reasons"]
    assert {"form_errors", "rage_clicks"} & set(decision["reasons"])
    assert reader.decisions == []


def test_collect__struggle_before_minimum_dwell__waits_for_the_dwell(shop: TestClient, clock: Clock) -> None:
    agents_online(shop, 1)
    visitor = Visitor(shop, clock, next(rollout_visitors(shop_config())))
    visitor.at(0, {"t": "page_view", "path": "/demo/checkout"})

    invited_at = struggle(visitor, onset=2)

    assert invited_at is None or invited_at >= 20


def test_collect__no_agent_capacity__struggler_gets_the_bot_fallback(shop: TestClient, clock: Clock) -> None:
    agents_online(shop, 1, active_chats=3)  # online but full
    visitor = Visitor(shop, clock, next(rollout_visitors(shop_config())))
    visitor.browse(until=25)

    assert struggle(visitor, onset=25) is not None
    decision = visitor.decisions[0][1]
    assert decision["mode"] == "bot"
    assert any(item.get("handoff") for item in decision["menu"]["items"])


def test_collect__invited_once__no_second_invitation_in_the_session(shop: TestClient, clock: Clock) -> None:
    agents_online(shop, 2)
    visitor = Visitor(shop, clock, next(rollout_visitors(shop_config())))
    visitor.browse(until=25)
    assert struggle(visitor, onset=25) is not None

    struggle(visitor, onset=60)

    assert len(visitor.decisions) == 1


def test_collect__dismissed__not_invited_again_the_next_day_either(shop: TestClient, clock: Clock) -> None:
    agents_online(shop, 1)
    visitor = Visitor(shop, clock, next(rollout_visitors(shop_config())))
    visitor.browse(until=25)
    struggle(visitor, onset=25)
    invite = visitor.decisions[0][1]["invite"]
    visitor.at(40, {"t": "invite_shown", "invite": invite})
    visitor.at(45, {"t": "invite_dismissed", "invite": invite})
    visitor.decisions.clear()

    later = 23 * 3600  # a new session 23 hours later, still inside the 24 h cooldown
    visitor.at(later, {"t": "page_view", "path": "/"})
    struggle(visitor, onset=later + 25)

    assert visitor.decisions == []


def test_collect__holdout_visitor__never_invited(shop: TestClient, clock: Clock) -> None:
    agents_online(shop, 1)
    config = shop_config()
    holdout = next(
        f"v_hold{n:08d}" for n in itertools.count() if config.experiment.group("demo", f"v_hold{n:08d}") == "holdout"
    )
    visitor = Visitor(shop, clock, holdout)
    visitor.browse(until=25)

    assert struggle(visitor, onset=25) is None


def _drain_and_refresh(client: TestClient) -> None:
    """The decider's background writes done, and this worker's capacity cache reread (as it is twice a second)."""
    engine = client.app.state.engine  # type: ignore[attr-defined]

    async def go() -> None:
        await engine.decider.drain()
        await engine.decider.availability.refresh_all()

    client.portal.call(go)  # type: ignore[union-attr]


def test_collect__ten_ignored_bot_cards__agent_who_signs_in_gets_the_next_struggler(
    shop: TestClient, clock: Clock
) -> None:
    """Issue #18: with nobody online, ten strugglers were shown the bot card and ignored it; an agent then
    signed in with 3 free slots and the next struggler got "busy" (no_capacity). A bot card promises no
    person, so it must not hold a share of the agent's slots."""
    ids = rollout_visitors(shop_config())
    for n in range(10):
        visitor = Visitor(shop, clock, next(ids))
        visitor.browse(until=5 * n + 25, start=5 * n)
        assert struggle(visitor, onset=5 * n + 25) is not None, n
        second, decision = visitor.decisions[0]
        assert decision["mode"] == "bot" and "no_capacity" in decision["reasons"], decision
        visitor.at(second + 1, {"t": "invite_shown", "invite": decision["invite"]})  # and then ignored
    _drain_and_refresh(shop)
    engine = shop.app.state.engine  # type: ignore[attr-defined]
    assert engine.decider.availability.capacity("demo").pending_invites == []

    agents_online(shop, 1)  # an agent signs in: 3 free slots, nothing reserved
    struggler = Visitor(shop, clock, next(ids))
    struggler.browse(until=90, start=65)
    assert struggle(struggler, onset=90) is not None
    decision = struggler.decisions[0][1]
    assert decision["mode"] == "agent", decision
    assert "no_capacity" not in decision["reasons"]


def test_collect__shown_agent_invitations__still_hold_their_share_of_the_slots(shop: TestClient, clock: Clock) -> None:
    """The other side of the rule: agent invitations keep reserving, so a lone agent is never promised
    more expected chats than their slots."""
    agents_online(shop, 1)
    ids = rollout_visitors(shop_config())
    modes: list[str] = []
    reserved: list[float] = []
    for n in range(8):
        visitor = Visitor(shop, clock, next(ids))
        visitor.browse(until=5 * n + 25, start=5 * n)
        struggle(visitor, onset=5 * n + 25)
        if visitor.decisions:
            second, decision = visitor.decisions[0]
            modes.append(decision["mode"])
            if decision["mode"] == "agent":
                reserved.append(decision["score"])
            visitor.at(second + 1, {"t": "invite_shown", "invite": decision["invite"]})
        _drain_and_refresh(shop)
    engine = shop.app.state.engine  # type: ignore[attr-defined]
    assert sorted(engine.decider.availability.capacity("demo").pending_invites) == sorted(reserved)
    assert "agent" in modes and "bot" in modes  # the slots filled up with expected chats, then the bot answered
    assert sum(reserved) <= 3 + 1e-9
