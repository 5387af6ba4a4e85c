"""What a visitor who accepted is shown when no person can take the chat after all: the site's fallback."""

from __future__ import annotations

from typing import Any

from triggers import SiteConfig, demo_config
from triggers.capacity import Agent, CapacitySnapshot
from triggers.hours import BusinessHours
from triggers.unanswered import APOLOGIES, NOBODY, unanswered, withdrawn

NOON_WEDNESDAY_MS = 1_764_158_400_000  # 12:00 in London: the demo is open
NIGHT_WEDNESDAY_MS = NOON_WEDNESDAY_MS + 11 * 3_600_000  # 23:00: closed


SHOP_HOURS = BusinessHours.model_validate(
    {"timezone": "Europe/London", "weekly": {"wed": ["08:00-20:00"], "thu": ["08:00-20:00"]}}
)


def _demo(**fallback: Any) -> SiteConfig:
    """The demo's fallbacks, in a shop with opening hours."""
    config = demo_config(["http://shop.test"])
    return config.model_copy(update={"fallback": config.fallback.model_copy(update=fallback), "hours": SHOP_HOURS})


def test_unanswered__bot_fallback__quick_answers_without_the_handoff_and_the_form() -> None:
    offer = unanswered(_demo(), NOON_WEDNESDAY_MS)

    assert offer.mode == "bot" and offer.message == NOBODY and offer.leave_message
    assert offer.menu is not None
    assert [item.label for item in offer.menu.items] == ["Delivery and returns", "Payment problems"]
    assert offer.opening_hours is None


def test_unanswered__wording_fits_why__busy_nobody_or_closed() -> None:
    """Never "busy" when nobody is signed in, never "nobody" when the team is only busy."""
    busy = unanswered(_demo(when_no_capacity="suppress"), NOON_WEDNESDAY_MS, busy=True)
    nobody = unanswered(_demo(when_no_capacity="suppress"), NOON_WEDNESDAY_MS)
    closed = unanswered(_demo(when_closed="suppress"), NIGHT_WEDNESDAY_MS, busy=True)

    assert (busy.person, busy.message) == ("busy", APOLOGIES["busy"]) and "busy" in busy.message
    assert (nobody.person, nobody.message) == ("nobody", NOBODY) and "busy" not in nobody.message
    assert (closed.person, closed.message) == ("closed", APOLOGIES["closed"]) and "closed" in closed.message
    assert closed.opening_hours is not None


def test_unanswered__bot_menu_that_only_hands_off__the_offline_message() -> None:
    config = _demo()
    only_handoff = config.fallback.bot.model_validate({"items": [{"label": "Talk to a person", "handoff": True}]})
    offer = unanswered(_demo(bot=only_handoff), NOON_WEDNESDAY_MS)

    assert (offer.mode, offer.message, offer.menu) == ("offline", config.fallback.offline.message, None)


def test_unanswered__suppress__only_the_apology_and_the_form_if_the_site_offers_it() -> None:
    config = _demo(when_no_capacity="suppress")
    offer = unanswered(config, NOON_WEDNESDAY_MS)
    assert (offer.mode, offer.message, offer.leave_message) == ("none", NOBODY, True)

    no_form = config.fallback.offline.model_copy(update={"leave_message": False})
    assert unanswered(_demo(when_no_capacity="suppress", offline=no_form), NOON_WEDNESDAY_MS).leave_message is False


def test_unanswered__closed_by_now__the_closed_fallback_with_opening_hours() -> None:
    offer = unanswered(_demo(when_closed="offline"), NIGHT_WEDNESDAY_MS)

    assert offer.mode == "offline"
    assert offer.opening_hours is not None and "08:00-20:00" in offer.opening_hours
    assert offer.next_opening is not None and offer.next_opening.startswith("2025-11-27T08:00")


def test_withdrawn__an_agent_online_and_open__invitation_stands_even_when_they_are_busy() -> None:
    busy = CapacitySnapshot(agents=[Agent(id="a1", active_chats=3, max_chats=3)], pending_invites=[0.9])
    assert withdrawn(_demo(), busy, NOON_WEDNESDAY_MS) is None


def test_withdrawn__every_agent_gone__the_no_capacity_fallback() -> None:
    offer = withdrawn(_demo(), CapacitySnapshot(), NOON_WEDNESDAY_MS)
    assert offer is not None and offer == unanswered(_demo(), NOON_WEDNESDAY_MS)
    assert offer.mode == "bot" and offer.menu is not None
    assert all(not item.handoff for item in offer.menu.items)


def test_withdrawn__closed_since_it_was_made__the_closed_fallback_although_agents_are_online() -> None:
    online = CapacitySnapshot(agents=[Agent(id="a1")])
    offer = withdrawn(_demo(when_closed="offline"), online, NIGHT_WEDNESDAY_MS)
    assert offer is not None and offer.mode == "offline" and offer.opening_hours is not None
