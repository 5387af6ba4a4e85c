"""A chat follows the visitor (issue #18), in real Chromium: across the shop's pages, a reload and a second tab
the panel comes back with its history and works both ways; the panel's x ends the chat after a confirmation
and frees the agent's slot at once; a visitor who just leaves is ended after the grace; an agent who closes
the browser after replying leaves a chat that says so.

Its own server (memory store) with short graces, and an agent of one slot, so "slot freed" is visible as the
next struggler's offer reaching the same agent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, Server, Watched, serving, wait_for
from tests.browser.test_agent_chat import ADMIN, admin, open_demo_to_chat
from tests.browser.test_invitation import CARD, fill_cart

pytestmark = pytest.mark.browser

VISITOR_GRACE_S = 4.0
PANEL = "[data-tactful=chat]"


@pytest.fixture
def follow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server per test: a chat a failed test leaves open would be offered to the next test's agent."""
    data = tmp_path_factory.mktemp("chat-follows")
    env = {
        "TACTFUL_ADMIN_TOKEN": ADMIN,
        "TACTFUL_SITE_REFRESH_S": "0.5",
        "TACTFUL_MODEL_REFRESH_S": "0.5",
        "TACTFUL_VISITOR_GRACE_S": str(VISITOR_GRACE_S),
        "TACTFUL_AGENT_GRACE_S": "1",
    }
    with serving(data, env) as (url, _):
        open_demo_to_chat(url, when_no_capacity="bot")
        yield Server(url, data / "events.jsonl")


def sign_in_solo(browser: Any, server: Server, name: str) -> Any:
    """A console for a new agent with one slot (the demo agent stays signed out)."""
    created = admin(server.url, "POST", "/v1/admin/sites/demo/agents", {"name": name, "max_chats": 1})
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    console = context.new_page()
    console.goto(created["sign_in_url"])
    console.locator("#agent-name").filter(has_text=name).wait_for()
    return console


def struggle_until_invited(watched: Watched) -> None:
    fill_cart(watched)
    watched.goto("/demo/checkout")
    card = watched.page.locator(CARD)
    deadline = time.monotonic() + 40
    while not card.count():
        assert time.monotonic() < deadline, "the engine never invited"
        watched.page.click("#place-order")
        for _ in range(3):
            watched.page.click("#apply-coupon")
        watched.pause(1.5)


def start_chat(browser: Any, server: Server, console: Any) -> tuple[Any, Any, str]:
    """A struggling visitor accepts; the console takes the offer. Returns (context, shop page, chat id)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    shop = context.new_page()
    struggle_until_invited(Watched(shop, server))
    shop.locator(CARD).get_by_role("button", name="Start chat").click()
    console.locator("#offers button.offer").wait_for(timeout=10_000)
    console.locator("#offers button.offer").click()
    shop.locator(PANEL).locator(".status").filter(has_text="is here to help").wait_for(timeout=10_000)
    chat_id = shop.evaluate("() => JSON.parse(localStorage.getItem('tactful.chat')).invite")
    return context, shop, chat_id


def say_visitor(page: Any, text: str) -> None:
    box = page.locator(PANEL).locator("textarea")
    box.fill(text)
    box.press("Enter")


def say_agent(console: Any, text: str) -> None:
    console.locator("#text").fill(text)
    console.locator("#text").press("Enter")


def chat_record(server: Server, chat_id: str) -> dict[str, Any]:
    return admin(server.url, "GET", f"/v1/admin/sites/demo/chats/{chat_id}")  # type: ignore[no-any-return]


def load_of(server: Server, name: str) -> int:
    """The agent's load as the agents list shows it: the presence heartbeat's copy, at most a heartbeat old."""
    agents = admin(server.url, "GET", "/v1/admin/sites/demo/agents")
    return int(next(a for a in agents if a["name"] == name)["active_chats"])


def history(page: Any) -> list[str]:
    return page.locator(PANEL).locator("ol.log li:not(.system)").all_inner_texts()  # type: ignore[no-any-return]


def test_chat_follows__other_page_reload_second_tab__history_and_both_ways__x_ends_and_frees_the_slot(
    browser: Any, follow_server: Server
) -> None:
    server = follow_server
    console = sign_in_solo(browser, server, "Nia")
    visitor, shop, chat_id = start_chat(browser, server, console)
    try:
        say_visitor(shop, "Where is my coupon?")
        console.locator("#messages li.visitor").filter(has_text="Where is my coupon?").wait_for()

        # The shop's own "Cart" link: a new page, the panel is back with the conversation.
        shop.click("a.cart-link")
        shop.wait_for_url("**/demo/cart")
        panel = shop.locator(PANEL)
        panel.locator("li.visitor").filter(has_text="Where is my coupon?").wait_for(timeout=3_000)
        started = time.monotonic()
        say_agent(console, "It is applied at the checkout.")
        panel.locator("li.agent").filter(has_text="It is applied at the checkout.").wait_for(timeout=3_000)
        assert time.monotonic() - started < 2.5
        say_visitor(shop, "Thanks, found it")
        console.locator("#messages li.visitor").filter(has_text="Thanks, found it").wait_for(timeout=3_000)
        assert console.locator("#typing").inner_text() != "The visitor is offline."
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shop.screenshot(path=str(SCREENSHOTS / "chat-follows-cart-page.png"))

        # A reload: the same, once each (no duplicates from the replayed history).
        shop.reload()
        panel.locator("li.agent").filter(has_text="It is applied at the checkout.").wait_for(timeout=3_000)
        assert history(shop) == ["Where is my coupon?", "Nia: It is applied at the checkout.", "Thanks, found it"]

        # A second tab: the panel there too, and both tabs hear the agent.
        second = visitor.new_page()
        second.goto("/demo/help")
        second.locator(PANEL).locator("li.visitor").filter(has_text="Thanks, found it").wait_for(timeout=3_000)
        say_agent(console, "Anything else?")
        for page in (shop, second):
            page.locator(PANEL).locator("li.agent").filter(has_text="Anything else?").wait_for(timeout=3_000)
        say_visitor(second, "From the other tab")
        console.locator("#messages li.visitor").filter(has_text="From the other tab").wait_for(timeout=3_000)
        shop.locator(PANEL).locator("li.visitor").filter(has_text="From the other tab").wait_for(timeout=3_000)
        assert chat_record(server, chat_id)["state"] == "active"
        wait_for(lambda: load_of(server, "Nia") == 1, timeout=2.5, sleep=second.wait_for_timeout)

        # The x asks first; "Keep chatting" keeps it; "End chat" ends it and frees the slot at once.
        second.locator(PANEL).get_by_role("button", name="Close chat").click()
        confirm = second.locator(PANEL).get_by_role("alertdialog", name="End the chat?")
        confirm.wait_for()
        second.screenshot(path=str(SCREENSHOTS / "chat-follows-close-confirm.png"))
        confirm.get_by_role("button", name="Keep chatting").click()
        assert confirm.count() == 0 and chat_record(server, chat_id)["state"] == "active"
        second.locator(PANEL).get_by_role("button", name="Close chat").click()
        second.locator(PANEL).get_by_role("button", name="End chat").last.click()
        assert second.locator(PANEL).count() == 0
        wait_for(lambda: chat_record(server, chat_id)["state"] == "ended", timeout=3, sleep=second.wait_for_timeout)
        record = chat_record(server, chat_id)
        assert (record["ended_by"], record["end_reason"]) == ("visitor", "closed")
        wait_for(lambda: load_of(server, "Nia") == 0, timeout=2.5, sleep=second.wait_for_timeout)
        # The console keeps the ended chat as a transcript: nothing to send or end, no presence news.
        console.locator("#composer").wait_for(state="hidden", timeout=3_000)
        console.wait_for_timeout(1_500)  # the visitor's other tabs closing would report presence now
        assert console.locator("#end").is_hidden() and console.locator("#typing").inner_text() == ""
        wait_for(lambda: shop.locator(PANEL).count() == 0, timeout=3, sleep=shop.wait_for_timeout)
        shop.goto("/demo")
        shop.wait_for_timeout(800)
        assert shop.locator(PANEL).count() == 0  # an ended chat does not come back

        # The freed slot: the next struggler's offer reaches the same one-slot agent.
        other, next_shop, next_chat = start_chat(browser, server, console)
        assert next_chat != chat_id
        assert chat_record(server, next_chat)["agent"] == chat_record(server, chat_id)["agent"]
        next_shop.locator(PANEL).get_by_role("button", name="End chat").first.click()
        other.close()
    finally:
        visitor.close()
        console.context.close()


def test_chat_follows__visitor_leaves_the_site__ended_after_the_grace_by_the_visitor(
    browser: Any, follow_server: Server
) -> None:
    server = follow_server
    console = sign_in_solo(browser, server, "Omar")
    visitor, shop, chat_id = start_chat(browser, server, console)
    try:
        say_visitor(shop, "brb")
        console.locator("#messages li.visitor").filter(has_text="brb").wait_for()
        shop.goto("about:blank")  # off the site: no tab has the chat any more
        console.locator("#typing").filter(has_text="The visitor is offline.").wait_for(timeout=3_000)
        left = time.monotonic()
        wait_for(lambda: chat_record(server, chat_id)["state"] == "ended", timeout=VISITOR_GRACE_S + 4)
        waited = time.monotonic() - left
        assert VISITOR_GRACE_S - 1 <= waited <= VISITOR_GRACE_S + 3, waited
        record = chat_record(server, chat_id)
        assert (record["ended_by"], record["end_reason"], record["started_ms"] is not None) == ("visitor", "left", True)
        wait_for(lambda: load_of(server, "Omar") == 0, timeout=2.5)  # the console's next heartbeat
        console.locator("#messages li").filter(has_text="The visitor left the chat.").wait_for(timeout=3_000)
        console.screenshot(path=str(SCREENSHOTS / "chat-follows-visitor-left-console.png"))
    finally:
        visitor.close()
        console.context.close()


def test_chat_follows__agent_closes_the_browser_after_replying__ended_by_the_agent_leaving_not_missed(
    browser: Any, follow_server: Server
) -> None:
    server = follow_server
    console = sign_in_solo(browser, server, "Pia")
    visitor, shop, chat_id = start_chat(browser, server, console)
    try:
        say_visitor(shop, "Hello?")
        console.locator("#messages li.visitor").filter(has_text="Hello?").wait_for()
        say_agent(console, "Hi, looking into it")
        shop.locator(PANEL).locator("li.agent").filter(has_text="Hi, looking into it").wait_for()
        console.context.close()
        wait_for(lambda: chat_record(server, chat_id)["state"] != "active", timeout=10, sleep=shop.wait_for_timeout)
        wait_for(lambda: chat_record(server, chat_id)["state"] == "ended", timeout=10, sleep=shop.wait_for_timeout)
        record = chat_record(server, chat_id)
        assert (record["state"], record["ended_by"], record["end_reason"]) == ("ended", "agent", "agent_left")
        assert record["agents"] and record["started_ms"] is not None
        panel = shop.locator(PANEL)
        panel.locator("li.system").filter(has_text="lost their connection").wait_for()
        panel.get_by_label("Your email").wait_for()  # the site's fallback: leave a message
        shop.screenshot(path=str(SCREENSHOTS / "chat-follows-agent-left.png"))
    finally:
        visitor.close()


def test_invitation__every_agent_leaves_while_it_is_on_show__card_becomes_the_fallback(
    browser: Any, follow_server: Server
) -> None:
    """Issue #18, capacity: the agent card was made while an agent was online; the agent signs out while it
    is on show; within a few seconds the card is the site's bot answers, with no "Start chat" and no "Talk to
    a person", so the visitor cannot accept into a void."""
    server = follow_server
    console = sign_in_solo(browser, server, "Quinn")
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    try:
        shop = visitor.new_page()
        struggle_until_invited(Watched(shop, server))
        card = shop.locator(CARD)
        card.get_by_role("button", name="Start chat").wait_for()
        console.context.close()
        card.get_by_role("heading", name="Quick help").wait_for(timeout=10_000)
        assert card.get_by_role("button", name="Start chat").count() == 0
        assert card.get_by_role("button", name="Talk to a person").count() == 0
        card.get_by_role("button", name="Payment problems").click()
        card.locator(".answer").filter(has_text="We accept cards").wait_for()
        shop.screenshot(path=str(SCREENSHOTS / "invitation-withdrawn-to-fallback.png"))
    finally:
        visitor.close()


def test_queue__agent_busy__bot_handoff_says_the_wait__visitor_leaves_a_message_instead(
    browser: Any, follow_server: Server
) -> None:
    """Issue #18, the visitor: the only agent is busy; the next struggler's bot card says so and shows the
    wait on "Talk to a person"; taking it, the panel says how long, and "Leave a message instead" stores a
    message with the chat and ends it so (the agent is never offered a chat nobody waits in)."""
    server = follow_server
    console = sign_in_solo(browser, server, "Rui")
    visitor, shop, _ = start_chat(browser, server, console)
    second = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    try:
        page = second.new_page()
        struggle_until_invited(Watched(page, server))
        card = page.locator(CARD)
        card.get_by_role("heading", name="Quick help").wait_for()
        assert "Everyone is busy with other customers right now." in card.inner_text()
        handoff = card.locator("button", has_text="Talk to a person")
        assert "Wait: about 5 min" in handoff.inner_text()
        handoff.click()
        panel = page.locator(PANEL)
        status = panel.locator(".status")
        # One slot freeing every average chat (5 min) is longer than the queue wait (3 min): said plainly.
        longer = "It may take longer than we can keep you waiting (about 3 min)."
        status.filter(has_text=f"Everyone is busy with other customers. {longer}").wait_for(timeout=5_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(400)  # the entrance animation
        page.screenshot(path=str(SCREENSHOTS / "chat-queue-wait.png"))
        panel.get_by_role("button", name="Leave a message instead").click()
        panel.get_by_label("Your email").fill("rui.visitor@example.org")
        panel.get_by_label("Message").fill("Does the kettle come in green?")
        panel.get_by_role("button", name="Send").click()
        status.filter(has_text="Thank you. We will answer by email.").wait_for(timeout=5_000)
        page.screenshot(path=str(SCREENSHOTS / "chat-queue-left-message.png"))
        chat_id = page.evaluate("() => Object.keys(localStorage).find((k) => k.startsWith('tactful.c.'))")
        assert chat_id is not None
        waiting_chat = chat_id.removeprefix("tactful.c.")
        wait_for(lambda: chat_record(server, waiting_chat)["state"] == "ended", timeout=5, sleep=page.wait_for_timeout)
        record = chat_record(server, waiting_chat)
        assert (record["ended_by"], record["end_reason"]) == ("visitor", "left_message")
        messages = admin(server.url, "GET", "/v1/admin/sites/demo/offline-messages")
        assert [(m["chat"], m["message"]) for m in messages] == [(waiting_chat, "Does the kettle come in green?")]
        # The busy agent finishes; no offer of the chat the visitor stopped waiting in.
        shop.locator(PANEL).get_by_role("button", name="End chat").first.click()
        wait_for(lambda: load_of(server, "Rui") == 0, timeout=3, sleep=console.wait_for_timeout)
        console.wait_for_timeout(1_500)
        assert console.locator("#offers button.offer").count() == 0
    finally:
        second.close()
        visitor.close()
        console.context.close()


def test_console__load_shown__transfer_to_a_free_colleague__history_follows_and_the_visitor_is_told(
    browser: Any, follow_server: Server
) -> None:
    """Issue #18, the console: each agent sees "n of m chats"; Tess hands the chat to Uma, who gets it with its
    history; the visitor's panel says who has it now; the loads follow."""
    server = follow_server
    tess = sign_in_solo(browser, server, "Tess")
    tess.locator("#load").filter(has_text="0 of 1 chats").wait_for(timeout=5_000)
    visitor, shop, chat_id = start_chat(browser, server, tess)
    uma = sign_in_solo(browser, server, "Uma")
    try:
        tess.locator("#load").filter(has_text="1 of 1 chats").wait_for(timeout=5_000)
        say_visitor(shop, "Can I change the delivery address?")
        tess.locator("#messages li.visitor").filter(has_text="Can I change the delivery address?").wait_for()
        tess.locator("#transfer-to option").filter(has_text="Uma (1 free)").wait_for(state="attached", timeout=5_000)
        tess.screenshot(path=str(SCREENSHOTS / "console-transfer.png"))
        tess.locator("#transfer-to").select_option(label="Uma (1 free)")
        tess.locator("#transfer button").click()

        uma.locator("#messages li.visitor").filter(has_text="Can I change the delivery address?").wait_for(
            timeout=5_000
        )
        panel = shop.locator(PANEL)
        panel.locator(".status").filter(has_text="Uma is here to help.").wait_for(timeout=5_000)
        panel.locator("li.system").filter(has_text="Tess passed the chat to Uma.").wait_for()
        tess.locator("#empty").wait_for(timeout=5_000)  # the chat left Tess's console
        uma.locator("#load").filter(has_text="1 of 1 chats").wait_for(timeout=5_000)
        tess.locator("#load").filter(has_text="0 of 1 chats").wait_for(timeout=5_000)
        say_agent(uma, "Yes, until it ships.")
        panel.locator("li.agent").filter(has_text="Uma: Yes, until it ships.").wait_for(timeout=3_000)
        uma.screenshot(path=str(SCREENSHOTS / "console-transferred.png"))
        record = chat_record(server, chat_id)
        assert (record["state"], record["agent_name"], len(record["agents"])) == ("active", "Uma", 2)
    finally:
        visitor.close()
        tess.context.close()
        uma.context.close()


# Wraps the page's Notification and oscillator so the test sees what the console announced; both still work.
ANNOUNCED = """
window.__announced = {notes: [], tones: 0};
const Real = window.Notification;
window.Notification = function (title, options) {
  window.__announced.notes.push(title);
  return new Real(title, options);
};
Object.defineProperty(window.Notification, 'permission', {get: () => Real.permission});
window.Notification.requestPermission = Real.requestPermission.bind(Real);
const oscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__announced.tones += 1; return oscillator.call(this); };
"""


def test_console__offer_announced__context_follows_the_visitor__canned_live__closed_site_said(
    browser: Any, follow_server: Server
) -> None:
    """Issue #18, the console: an offer plays a tone and, with permission, shows a desktop notification; the
    context says where the visitor is now and marks signals since the chat began; a canned reply an admin adds
    works without a reload; when the site's hours close, a banner says so."""
    server = follow_server
    created = admin(server.url, "POST", "/v1/admin/sites/demo/agents", {"name": "Lea", "max_chats": 1})
    agent_context = browser.new_context(viewport={"width": 1400, "height": 860}, permissions=["notifications"])
    agent_context.add_init_script(ANNOUNCED)
    console = agent_context.new_page()
    console.goto(created["sign_in_url"])
    console.locator("#agent-name").filter(has_text="Lea").wait_for()
    assert console.locator("#notify").is_hidden()  # permission already granted: nothing to ask
    visitor, shop, chat_id = start_chat(browser, server, console)
    try:
        announced = console.evaluate("() => window.__announced")
        assert announced["tones"] == 1
        assert [note.split(" · ")[0] for note in announced["notes"]] == ["Chat offered: /demo/checkout"]

        console.locator("#now-on").filter(has_text="/demo/checkout").wait_for()
        shop.click("a.cart-link")
        shop.wait_for_url("**/demo/cart")
        console.locator("#now-on").filter(has_text="/demo/cart").wait_for(timeout=8_000)
        console.locator("#journey li").filter(has_text="/demo/cart").wait_for()
        assert console.locator("#past li").all_inner_texts() == ["none"]

        admin(server.url, "POST", "/v1/admin/sites/demo/canned", {"shortcut": "ship", "text": "We ship every day."})
        console.locator("#canned-hint").filter(has_text="/ship").wait_for(timeout=3_000)
        say_agent(console, "/ship")
        shop.locator(PANEL).locator("li.agent").filter(has_text="We ship every day.").wait_for(timeout=3_000)
        console.screenshot(path=str(SCREENSHOTS / "console-live-context.png"))

        document = admin(server.url, "GET", "/v1/admin/sites/demo/config")["config"]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        document["hours"] = {"timezone": "UTC", "weekly": {"mon": ["08:00-20:00"]}, "closed_dates": [today]}
        admin(server.url, "PUT", "/v1/admin/sites/demo/config", document)
        banner = console.locator("#closed-banner")
        banner.filter(has_text="The site is closed now. Hours: mon 08:00-20:00 (UTC).").wait_for(timeout=5_000)
        console.screenshot(path=str(SCREENSHOTS / "console-site-closed.png"))
        assert chat_record(server, chat_id)["state"] == "active"  # the chat in progress goes on
    finally:
        visitor.close()
        agent_context.close()
