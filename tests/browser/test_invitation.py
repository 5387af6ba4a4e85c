"""The invitation card: what it shows, how it behaves, how it reports, and that everyone can use it.

The decision comes in a real collect response: the request goes to the real server,
and only the ``decision`` of its answer is replaced, so the widget is exercised
exactly as the engine will drive it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, Watched, axe_check

pytestmark = pytest.mark.browser

CARD = "[data-tactful=invite] section[role=dialog]"
DEMO_MENU = {
    "greeting": "Maybe one of these helps?",
    "items": [
        {
            "label": "Delivery and returns",
            "children": [
                {"label": "When will my order arrive?", "answer": "Most orders arrive in 2-3 days."},
                {"label": "How do I return an item?", "url": "/demo/help/returns"},
            ],
        },
        {"label": "Payment problems", "answer": "We accept cards, PayPal and gift cards."},
        {"label": "Talk to a person", "handoff": True},
    ],
}


def decision(mode: str = "agent", **extra: Any) -> dict[str, Any]:
    return {
        "action": "invite",
        "invite": "i_" + secrets.token_hex(6),
        "mode": mode,
        "message": "Need a hand with the checkout?",
        "expires_in": 120,
        "score": 0.83,
        "reasons": ["score_above_threshold", "form_errors"],
    } | extra


def offer(watched: Watched, offered: dict[str, Any]) -> dict[str, Any]:
    """Answer the next collect request with ``offered`` as its decision, then step aside."""
    page = watched.page
    state = {"done": False}

    def answer(route: Any) -> None:
        if state["done"]:
            route.continue_()
            return
        response = route.fetch()
        if response.status != 200:
            route.fulfill(response=response)
            return
        route.fulfill(response=response, json=json.loads(response.text()) | {"decision": offered})
        state["done"] = True  # only now: unrouting while the handler runs would race it

    page.route("**/v1/collect", answer)
    page.evaluate("() => tactful('conversion')")  # urgent: a request goes out now
    watched.wait(lambda: state["done"])
    page.unroute("**/v1/collect", answer)
    return offered


def fill_cart(watched: Watched) -> None:
    """Something in the cart, so the checkout in the screenshots looks like a real one."""
    watched.page.goto(watched.server.url + "/demo/help")
    watched.page.evaluate("""() => localStorage.setItem('demo.cart',
        JSON.stringify([{slug: 'aurora-kettle', qty: 1}, {slug: 'drift-mugs', qty: 2}]))""")


def open_card(watched: Watched, path: str = "/demo/checkout", **kwargs: Any) -> dict[str, Any]:
    fill_cart(watched)
    watched.goto(path)
    offered = offer(watched, decision(**kwargs))
    watched.page.locator(CARD).wait_for()
    return offered


def screenshot(watched: Watched, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watched.page.wait_for_timeout(400)  # the entrance animation
    watched.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_agent_mode__shown__announced_reported_focus_kept(watched: Watched) -> None:
    page = watched.page
    fill_cart(watched)
    watched.goto("/demo/checkout")
    page.focus("#name")
    offered = offer(watched, decision(expected_wait_s=120))
    card = page.locator(CARD)
    card.wait_for()
    assert card.get_attribute("aria-modal") == "false"
    assert page.evaluate("() => document.activeElement.id") == "name"  # focus not stolen
    page.keyboard.type("Ada")
    assert page.input_value("#name") == "Ada"
    status = page.locator("[data-tactful=invite] [role=status]")
    assert status.get_attribute("aria-live") == "polite"
    page.wait_for_function(
        "() => document.querySelector('[data-tactful]').shadowRoot"
        ".querySelector('[role=status]').textContent.includes('Need a hand')"
    )
    assert "Expected wait: about 2 min." in card.inner_text()
    (shown,) = watched.wait_events(watched.visitor(), "invite_shown")
    assert shown == {"t": "invite_shown", "invite": offered["invite"], "ts": shown["ts"]}
    assert axe_check(page, "[data-tactful=invite]") == []
    screenshot(watched, "invite-agent-checkout")


def test_keyboard__tab_in_enter_accepts(watched: Watched) -> None:
    page = watched.page
    offered = open_card(watched)
    page.focus("a[href='/demo/help/shipping']")  # the page's last focusable element
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.tactful") == "invite"  # inside the card
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Start chat"
    (accepted,) = watched.wait_events(watched.visitor(), "invite_accepted")
    assert accepted["invite"] == offered["invite"]
    page.locator("[data-tactful=chat]").wait_for()  # the chat panel (widget_js/src/chat.js) takes over
    assert page.locator(CARD).count() == 0


def test_keyboard__escape_dismisses_and_focus_returns(watched: Watched) -> None:
    page = watched.page
    offered = open_card(watched)
    page.focus("a[href='/demo/help/shipping']")
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    page.locator(CARD).wait_for(state="detached")
    (dismissed,) = watched.wait_events(watched.visitor(), "invite_dismissed")
    assert dismissed["invite"] == offered["invite"]
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "/demo/help/shipping"


def test_dismissed__not_shown_again_in_the_session(watched: Watched) -> None:
    page = watched.page
    open_card(watched)
    page.locator("[data-tactful=invite] button", has_text="No thanks").click()
    page.locator(CARD).wait_for(state="detached")
    offer(watched, decision())
    page.wait_for_timeout(500)
    assert page.locator(CARD).count() == 0
    watched.goto("/demo/cart")  # a new page, same session
    offer(watched, decision())
    page.wait_for_timeout(500)
    assert page.locator(CARD).count() == 0
    assert len(watched.server.events(watched.visitor(), "invite_shown")) == 1


def test_accept__chat_panel_seam__called_with_the_decision(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo/checkout")
    page.evaluate("() => { tactful._openChat = (d) => { window.openedFor = d.invite; }; }")
    offered = offer(watched, decision())
    page.locator("[data-tactful=invite] button", has_text="Start chat").click()
    assert page.evaluate("() => window.openedFor") == offered["invite"]
    assert page.locator(CARD).count() == 0


def test_ignored__expires_quietly_without_a_dismissal(watched: Watched) -> None:
    page = watched.page
    open_card(watched, expires_in=1)
    page.locator(CARD).wait_for(state="detached", timeout=4000)
    visitor = watched.visitor()
    watched.wait_events(visitor, "invite_shown")
    assert watched.server.events(visitor, "invite_dismissed") == []


def test_bot_mode__menu_tree__branches_answers_and_back(watched: Watched) -> None:
    page = watched.page
    offered = open_card(watched, "/demo/product/tide-pan", mode="bot", message=None, menu=DEMO_MENU, person="busy")
    card = page.locator(CARD)
    assert "Quick help" in card.inner_text() and "Maybe one of these helps?" in card.inner_text()
    assert "Everyone is busy with other customers right now." in card.inner_text()
    assert axe_check(page, "[data-tactful=invite]") == []
    screenshot(watched, "invite-bot-product")
    card.locator("button", has_text="Delivery and returns").click()
    assert (
        page.evaluate("() => document.querySelector('[data-tactful]').shadowRoot.activeElement.textContent")
        == "When will my order arrive?"
    )  # focus follows the visitor into the branch
    assert card.locator("a", has_text="How do I return an item?").get_attribute("href") == "/demo/help/returns"
    page.keyboard.press("Enter")
    assert "Most orders arrive in 2-3 days." in card.inner_text()
    card.locator("button", has_text="Back").click()
    card.locator("button", has_text="Back").click()
    assert card.locator("button", has_text="Talk to a person").is_visible()
    (accepted,) = watched.wait_events(watched.visitor(), "invite_accepted")  # once, however deep
    assert accepted["invite"] == offered["invite"]


def test_bot_mode__team_busy__handoff_says_the_wait_and_a_message_can_be_left_instead(watched: Watched) -> None:
    """Issue #18, the visitor: the bot's "Talk to a person" shows the expected wait the decision carries, and
    beside it the visitor may leave a message; the card says the team is busy (not closed, not away)."""
    page = watched.page
    open_card(watched, mode="bot", message=None, menu=DEMO_MENU, person="busy", expected_wait_s=170, leave_message=True)
    card = page.locator(CARD)
    handoff = card.locator("button", has_text="Talk to a person")
    assert handoff.inner_text().splitlines() == ["Talk to a person", "Wait: about 3 min"]
    assert "Everyone is busy with other customers right now." in card.inner_text()
    assert axe_check(page, "[data-tactful=invite]") == []
    screenshot(watched, "invite-bot-busy-wait")
    card.get_by_role("button", name="Leave us a message").click()
    assert (
        page.evaluate("() => document.querySelector('[data-tactful]').shadowRoot.activeElement.name") == "email"
    )  # focus follows into the form
    card.locator("input[name=email]").fill("ada@example.org")
    card.locator("textarea").fill("Which kettle fits a camper van?")
    card.locator("button", has_text="Send").click()
    card.locator("text=Thank you. We will answer by email.").wait_for()


def test_bot_mode__nobody_online__no_handoff_no_wait_and_a_message_can_be_left(watched: Watched) -> None:
    page = watched.page
    menu = DEMO_MENU | {"items": DEMO_MENU["items"][:2]}  # the engine drops the handoff when nobody is online
    open_card(watched, mode="bot", message=None, menu=menu, person="nobody", leave_message=True)
    card = page.locator(CARD)
    text = card.inner_text()
    assert "Nobody is online to chat right now." in text and "busy" not in text and "Wait" not in text
    assert card.get_by_role("button", name="Leave us a message").is_visible()
    screenshot(watched, "invite-bot-nobody-online")


def test_offline_mode__hours_and_leave_a_message_form(watched: Watched) -> None:
    page = watched.page
    offered = open_card(
        watched,
        mode="offline",
        leave_message=True,
        message="We're offline right now. Leave a message and we'll reply by email.",
        opening_hours="mon-fri 08:00-20:00; sat 10:00-16:00 (Europe/London)",
    )
    card = page.locator(CARD)
    assert "Opening hours: mon-fri 08:00-20:00; sat 10:00-16:00 (Europe/London)." in card.inner_text()
    assert axe_check(page, "[data-tactful=invite]") == []
    card.locator("input[name=email]").fill("zq7marker@example.org")
    card.locator("textarea").fill("zq7marker: where is my kettle?")
    screenshot(watched, "invite-offline-checkout")
    card.locator("button", has_text="Send").click()  # the chat panel's seam stores it (POST /v1/chat/offline)
    card.locator("text=Thank you. We will answer by email.").wait_for()
    (accepted,) = watched.wait_events(watched.visitor(), "invite_accepted")
    assert accepted["invite"] == offered["invite"]
    assert all("zq7marker" not in request["body"] for request in watched.collects)


def test_offline_mode__leave_message_seam__gets_the_fields(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo/checkout")
    page.evaluate("() => { tactful._leaveMessage = (d, fields) => { window.left = [d.invite, fields]; }; }")
    offered = offer(watched, decision(mode="offline", leave_message=True))
    card = page.locator(CARD)
    card.locator("input[name=email]").fill("ada@example.org")
    card.locator("textarea").fill("Hello")
    card.locator("button", has_text="Send").click()
    card.locator("text=Thank you. We will answer by email.").wait_for()
    assert page.evaluate("() => window.left") == [offered["invite"], {"email": "ada@example.org", "message": "Hello"}]


@pytest.mark.parametrize(("motion", "animation"), [("reduce", "none"), ("no-preference", "tf-in")])
def test_reduced_motion__respected(browser: Any, server: Any, motion: str, animation: str) -> None:
    context = browser.new_context(reduced_motion=motion)
    try:
        watched = Watched(context.new_page(), server)
        open_card(watched)
        name = watched.page.evaluate(
            "() => getComputedStyle(document.querySelector('[data-tactful]')"
            ".shadowRoot.querySelector('.card')).animationName"
        )
        assert name == animation
    finally:
        context.close()


def test_host_page_css__cannot_reach_into_the_card(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo/checkout")
    page.evaluate("""() => document.styleSheets[0].insertRule(
        'button { background: rgb(255, 0, 0) !important; display: none !important }')""")
    offer(watched, decision())
    button = page.locator("[data-tactful=invite] button", has_text="Start chat")
    assert button.is_visible()
    assert button.evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgb(29, 78, 216)"


def test_narrow_screen__card_fits(browser: Any, server: Any) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        watched = Watched(context.new_page(), server)
        open_card(watched, "/demo/product/aurora-kettle", expected_wait_s=30)
        box = watched.page.locator(CARD).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        screenshot(watched, "invite-agent-mobile")
    finally:
        context.close()
