"""What the tracker keeps to itself: typed values, and everything once the visitor says no."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, Server, Watched
from tests.browser.test_chat_follows import PANEL, chat_record, follow_server, sign_in_solo
from tests.browser.test_invitation import CARD, fill_cart

pytestmark = pytest.mark.browser

__all__ = ["follow_server"]  # the fixture: a server of its own, the demo quick to invite

MARKER = "zq7marker31337"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"
DOCS_ORIGIN = "https://tactful.example.com"
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Embed test</title>{head}</head>
<body><main><h1>Embedded</h1><p>A site that pasted the snippet.</p></main></body></html>"""


def serve_page(watched: Watched, path: str, head: str) -> None:
    """A page of some other site that pasted the loader inline (no CSP here, as on many sites)."""
    html = PAGE.format(head=head)
    watched.page.route(f"**{path}", lambda route: route.fulfill(content_type="text/html", body=html))
    watched.goto(path)


def snippet(watched: Watched, init: str) -> str:
    """The loader exactly as docs/embedding.md tells sites to paste it, pointed at the test server."""
    documented = DOCS.read_text("utf-8").split("```html\n", 1)[1].split("```", 1)[0]
    documented = re.sub(r"tactful\('init', \{.*\}\);", lambda _: f"tactful('init', {init});", documented)
    return documented.replace(DOCS_ORIGIN, watched.server.url)


def test_typed_values__anywhere_on_the_shop__never_leave_the_page(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo")
    visitor = watched.visitor()
    page.fill("#q", MARKER)
    page.press("#q", "Enter")  # the shop puts the query in its own URL: /demo/search?q=...
    page.wait_for_url("**/demo/search?q=*")
    watched.wait_events(visitor, "search")
    watched.goto("/demo/checkout")
    for field in ("#name", "#address", "#card", "#coupon"):
        page.fill(field, MARKER)
    page.fill("#email", f"{MARKER}@example.org")
    page.fill("#postcode", MARKER)
    page.click("#place-order")
    watched.wait_events(visitor, "form_error")
    page.click("a[href='/demo/help/shipping']")  # leaves with a beacon
    page.wait_for_url("**/demo/help/shipping")
    watched.wait_events(visitor, "page_view", 4)

    assert len(watched.collects) >= 3
    for request in watched.collects:
        assert MARKER not in request["body"]
        assert MARKER not in request["url"]
        assert all(MARKER not in value for value in request["headers"].values())
    assert MARKER not in watched.server.log.read_text("utf-8")


def test_name_and_email_typed_in_a_form__never_sent__the_agent_sees_no_one(browser: Any, follow_server: Server) -> None:
    """Only the site's own identify call says who the visitor is: a name and an address typed into the checkout
    (the very fields a tracker might be tempted to read) reach neither the API nor the agent's console."""
    server = follow_server
    console = sign_in_solo(browser, server, "Lea")
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    try:
        shop = visitor.new_page()
        watched = Watched(shop, server)
        collects: list[str] = []
        visitor.on("request", lambda r: collects.append((r.post_data or "") + r.url) if "/v1/" in r.url else None)
        fill_cart(watched)
        watched.goto("/demo/checkout")
        shop.fill("#name", f"Ada {MARKER}")
        shop.fill("#email", f"ada.{MARKER}@example.org")
        card = shop.locator(CARD)
        for _ in range(25):
            if card.count():
                break
            shop.click("#place-order")
            for _ in range(3):
                shop.click("#apply-coupon")
            watched.pause(1.5)
        assert card.count(), "the engine never invited"
        card.get_by_role("button", name="Start chat").click()
        console.locator("#offers button.offer").click(timeout=10_000)
        shop.locator(PANEL).locator(".status").filter(has_text="is here to help").wait_for(timeout=10_000)
        console.locator("#now-on").filter(has_text="/demo/checkout").wait_for()
        watched.pause(3.5)  # the console has asked for the context again meanwhile

        assert console.locator("#who-name").count() == 0 and console.locator("#who-email").count() == 0
        assert MARKER not in console.content()
        chat_id = shop.evaluate("() => JSON.parse(localStorage.getItem('tactful.chat')).invite")
        assert chat_record(server, chat_id)["context"]["identity"] is None
        assert len(collects) >= 3 and not [sent for sent in collects if MARKER in sent]
        assert MARKER not in server.log.read_text("utf-8")  # the event log
        assert MARKER not in (server.log.parent / "server.log").read_text("utf-8")  # the process's own log
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        console.screenshot(path=str(SCREENSHOTS / "console-form-typed-not-identified.png"))
    finally:
        visitor.close()
        console.context.close()


def test_consent_withdrawn__stops_tracking_and_forgets_ids(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.wait_events(visitor, "page_view")
    page.evaluate("() => tactful('consent', false)")
    (opt_out,) = watched.wait_events(visitor, "custom")
    assert opt_out["name"] == "tactful.opt_out"
    stored = page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('tactful.'))")
    assert stored == ["tactful.optout"]  # the refusal is remembered, the ids are gone

    requests_before = len(watched.collects)
    page.click(".tile a >> nth=0")
    page.wait_for_url("**/demo/product/*")
    page.wait_for_function("() => window.tactful && window.tactful.loaded")
    page.evaluate("() => tactful('conversion', 10)")
    page.wait_for_timeout(1500)
    assert len(watched.collects) == requests_before  # nothing at all, across a navigation

    page.evaluate("() => tactful('consent', true)")
    new_visitor = watched.wait(lambda: page.evaluate("() => JSON.parse(localStorage.getItem('tactful.v'))"))
    assert new_visitor != visitor
    watched.wait_events(new_visitor, "page_view")


@pytest.mark.parametrize(("respect", "expect_tracking"), [("true", False), ("false", True)])
def test_global_privacy_control__honoured_only_when_the_site_asks(
    context: Any, watched: Watched, respect: str, expect_tracking: bool
) -> None:
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    serve_page(watched, "/embed/gpc", snippet(watched, f"{{site: 'demo', respectDnt: {respect}}}"))
    watched.pause(1.5)
    assert bool(watched.collects) is expect_tracking
    stored = watched.page.evaluate("() => localStorage.getItem('tactful.v')")
    assert (stored is not None) is expect_tracking


def test_snippet__pasted_twice_calls_before_load__one_tracker_calls_replayed(watched: Watched) -> None:
    pasted = snippet(watched, "{site: 'demo'}")
    head = (
        pasted
        + pasted.replace("</script>", "tactful('event', 'queued_early', 1);\n</script>")
        + f"<script async src='{watched.server.url}/tactful.js'></script>"
    )  # and the bundle once more
    serve_page(watched, "/embed/twice", head)
    visitor = watched.visitor()
    (custom,) = watched.wait_events(visitor, "custom")
    assert custom["name"] == "queued_early"
    watched.pause(1)
    assert len(watched.server.events(visitor, "page_view")) == 1
    assert watched.console_errors == [] and watched.page_errors == []
