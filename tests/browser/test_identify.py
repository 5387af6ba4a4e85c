"""``tactful('identify', {name, email})`` in real Chromium: called in the loader before the bundle arrives and
again after it, it reaches the agent's console, which shows the name and the address as a mailto link and
follows a later call or a logout within seconds; the tracker checks what it is given and sends a person once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, Server, Watched
from tests.browser.test_chat_follows import PANEL, follow_server, sign_in_solo, struggle_until_invited
from tests.browser.test_invitation import CARD

pytestmark = pytest.mark.browser

__all__ = ["follow_server"]  # the fixture: a server of its own, the demo quick to invite

LOADER = Path(__file__).resolve().parents[2] / "api" / "static" / "demo" / "assets" / "tactful-loader.js"
ADA = "{name: 'Ada Lovelace', email: 'ada@example.com'}"


def identify_in_the_loader(context: Any, person: str) -> None:
    """The shop's loader as a signed-in customer's pages would have it: identify queued with init, before the
    bundle is there."""
    loader = LOADER.read_text("utf-8") + f"tactful('identify', {person});\n"
    context.route(
        "**/demo/assets/tactful-loader.js",
        lambda route: route.fulfill(content_type="text/javascript", body=loader),
    )


def sent_identities(watched: Watched) -> list[dict[str, Any]]:
    return [event for event in watched.sent() if event["t"] == "identify"]


def test_identify__before_and_after_load__console_shows_name_and_email_live__logout_clears(
    browser: Any, follow_server: Server
) -> None:
    server = follow_server
    console = sign_in_solo(browser, server, "Lea")
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    try:
        identify_in_the_loader(visitor, ADA)
        shop = visitor.new_page()
        watched = Watched(shop, server)
        struggle_until_invited(watched)
        shop.locator(CARD).get_by_role("button", name="Start chat").click()
        console.locator("#offers button.offer").filter(has_text="Ada Lovelace").wait_for(timeout=10_000)
        console.locator("#offers button.offer").click()
        shop.locator(PANEL).locator(".status").filter(has_text="is here to help").wait_for(timeout=10_000)

        console.locator("#who-name").filter(has_text="Ada Lovelace").wait_for()
        mail = console.locator("#who-email a")
        assert mail.inner_text() == "ada@example.com"
        assert mail.get_attribute("href") == "mailto:ada@example.com"
        assert console.locator("#chats button").inner_text().startswith("Ada Lovelace")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        console.screenshot(path=str(SCREENSHOTS / "console-identified-visitor.png"))

        # After the bundle is there: a new address (the customer changed it), shown without a reload.
        shop.evaluate("() => tactful('identify', {name: 'Ada King', email: 'ada.king@example.com'})")
        console.locator("#who-email a").filter(has_text="ada.king@example.com").wait_for(timeout=15_000)
        assert console.locator("#who-name").inner_text() == "Ada King"
        assert console.locator("#who-email a").get_attribute("href") == "mailto:ada.king@example.com"

        shop.evaluate("() => tactful('identify', null)")  # logout
        console.locator("#who-name").wait_for(state="detached", timeout=15_000)
        assert console.locator("#who-email").count() == 0
        assert console.locator("#now-on").inner_text() == "/demo/checkout"  # the rest of the context stays
        console.screenshot(path=str(SCREENSHOTS / "console-identity-after-logout.png"))
        for log in (server.log, server.log.parent / "server.log"):  # the event log, the process's log
            text = log.read_text("utf-8")
            assert "identify" in text or log != server.log
            assert "Ada" not in text and "ada@example.com" not in text and "ada.king" not in text
        assert watched.console_errors == [] and watched.page_errors == []
    finally:
        visitor.close()
        console.context.close()


def test_identify__checked_in_the_browser__sent_once__reset_only_after_someone(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.wait_events(visitor, "page_view")

    page.evaluate("() => tactful('identify', null)")  # nobody was ever identified here: nothing to forget
    for bad in (
        "{email: 'ada at example'}",
        "{name: 'Ada', email: 'ada@'}",
        "{name: 42}",
        "'Ada'",
        "{name: 'x'.repeat(129)}",
        "{email: 'a@' + 'b'.repeat(250) + '.org'}",
    ):
        page.evaluate(f"() => tactful('identify', {bad})")
    page.evaluate("() => tactful('identify', {name: '  Ada Lovelace ', email: 'ada@example.com', phone: '+44'})")
    page.evaluate("() => tactful('identify', {name: 'Ada Lovelace', email: 'ada@example.com'})")  # the same again
    page.evaluate("() => tactful('conversion', 1)")  # urgent: the batch goes now
    (stored,) = watched.wait_events(visitor, "identify")
    assert stored == {"t": "identify", "ts": stored["ts"]}  # the log keeps that it happened, nothing else
    assert [{k: v for k, v in e.items() if k != "ts"} for e in sent_identities(watched)] == [
        {"t": "identify", "name": "Ada Lovelace", "email": "ada@example.com"}
    ]
    assert page.evaluate("() => localStorage.getItem('tactful.w')") == "1"

    page.evaluate("() => { tactful('identify', null); tactful('identify', null); tactful('conversion', 1); }")
    watched.wait_events(visitor, "identify", 2)
    assert [set(e) for e in sent_identities(watched)][1:] == [{"t", "ts"}]  # one reset, no fields
    assert page.evaluate("() => localStorage.getItem('tactful.w')") is None

    page.evaluate("() => { tactful('identify', {email: 'ada@example.com'}); tactful('conversion', 1); }")
    watched.wait_events(visitor, "identify", 3)
    sent_before = len(sent_identities(watched))
    page.evaluate("() => tactful('identify', {name: 'Ada King', email: 'ada.king@example.com'})")
    page.evaluate("() => tactful('consent', false)")  # before the next flush: the refusal's beacon goes now
    watched.wait_events(visitor, "custom")
    assert len(sent_identities(watched)) == sent_before  # who she is did not go out with her refusal
    stored_keys = page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('tactful.'))")
    assert stored_keys == ["tactful.optout"]  # the opt-out forgets that someone was identified too
    assert watched.console_errors == [] and watched.page_errors == []


def test_identify__tracker_alone__ignored_without_error(watched: Watched) -> None:
    """The analytics-only bundle has no chat and so no one to tell: the command is not there."""
    page = watched.page
    page.route(
        "**/demo/assets/tactful-loader.js",
        lambda route: route.fulfill(
            content_type="text/javascript",
            body=LOADER.read_text("utf-8").replace("/tactful.js", "/tactful-tracker.js")
            + "tactful('identify', {name: 'Ada Lovelace'});\n",
        ),
    )
    watched.goto("/demo")
    visitor = watched.visitor()
    page.evaluate("() => { tactful('identify', {name: 'Ada Lovelace'}); tactful('conversion', 1); }")
    watched.wait_events(visitor, "conversion")
    time.sleep(0.2)
    assert sent_identities(watched) == []
    assert watched.console_errors == [] and watched.page_errors == []
