"""Each event type the tracker produces arrives at the real API with the documented fields."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Watched

pytestmark = pytest.mark.browser


def test_page_view__first_load__clean_path_title_viewport(watched: Watched) -> None:
    watched.goto("/demo/search?q=kettle&utm_source=newsletter")
    visitor = watched.visitor()
    (view,) = watched.wait_events(visitor, "page_view")
    assert view["path"] == "/demo/search?utm_source=newsletter"  # the typed query stays on the page
    assert view["title"] == "Search · Kettle & Co."
    assert view["vw"] == 1280
    (search,) = watched.wait_events(visitor, "search")
    assert search["results"] == 1


def test_spa_route_change__push_and_back__each_a_page_view(watched: Watched) -> None:
    watched.goto("/demo/help")
    visitor = watched.visitor()
    watched.wait_events(visitor, "page_view")
    watched.page.click("a[data-topic=returns]")
    views = watched.wait_events(visitor, "page_view", 2)
    assert views[1]["path"] == "/demo/help/returns"
    assert views[1]["title"] == "Returns · Help · Kettle & Co."
    assert "ref" not in views[1]  # a route of the same site refers nobody
    watched.page.go_back()
    views = watched.wait_events(visitor, "page_view", 3)
    assert views[2]["path"] == "/demo/help"


def test_ordinary_clicks__on_the_shop__are_clicks_not_rage_or_dead(watched: Watched) -> None:
    watched.goto("/demo/product/aurora-kettle")
    visitor = watched.visitor()
    watched.page.click("#add-to-cart")
    watched.page.wait_for_timeout(1200)  # longer than the dead-click window
    watched.page.click("#add-to-cart")
    watched.page.click("a.cart-link")
    watched.page.wait_for_url("**/demo/cart")
    clicks = watched.wait_events(visitor, "click", 3)
    assert clicks[0]["sel"] == "button#add-to-cart"
    assert isinstance(clicks[0]["x"], int) and isinstance(clicks[0]["y"], int)
    watched.page.wait_for_timeout(1500)
    assert watched.server.events(visitor, "rage_click") == []
    assert watched.server.events(visitor, "dead_click") == []


def test_struggle_clicks__on_the_shop__rage_and_dead_detected(watched: Watched) -> None:
    watched.goto("/demo/product/linen-apron")
    visitor = watched.visitor()
    watched.page.click("#size-guide")  # looks like a link, does nothing
    (dead,) = watched.wait_events(visitor, "dead_click")
    assert dead["sel"] == "span#size-guide"

    watched.goto("/demo/checkout")
    coupon = watched.page.locator("#apply-coupon")
    for _ in range(4):
        coupon.click()
    (rage,) = watched.wait_events(visitor, "rage_click")
    assert rage == {"t": "rage_click", "count": 4, "sel": "button#apply-coupon", "ts": rage["ts"]}
    dead_clicks = watched.wait_events(visitor, "dead_click", 2)
    assert [d["sel"] for d in dead_clicks] == ["span#size-guide", "button#apply-coupon"]  # one per burst


def test_checkout_validation__invalid_and_aria_invalid__form_errors_with_names_only(watched: Watched) -> None:
    watched.goto("/demo/checkout")
    visitor = watched.visitor()
    watched.page.click("#place-order")  # everything empty: the browser's own validation
    errors = watched.wait_events(visitor, "form_error", 5)
    assert {e["field"] for e in errors} == {"name", "email", "address", "postcode", "card"}
    assert {e["form"] for e in errors} == {"checkout"}
    assert all(set(e) == {"t", "field", "form", "ts"} for e in errors)

    page = watched.page
    page.fill("#name", "Ada Lovelace")
    page.fill("#email", "ada@example.org")
    page.fill("#address", "12 Analytical Row")
    page.fill("#postcode", "12345")
    page.fill("#card", "1234 5678 9012 3456")  # fails the shop's own check: aria-invalid
    page.wait_for_timeout(1100)  # one error per field per second
    page.click("#place-order")
    errors = watched.wait_events(visitor, "form_error", 6)
    assert errors[-1] == {"t": "form_error", "field": "card", "form": "checkout", "ts": errors[-1]["ts"]}


def test_scroll__down_up_down__depth_and_reversals(context: object, watched: Watched) -> None:
    page = watched.page
    page.set_viewport_size({"width": 800, "height": 400})
    watched.goto("/demo")
    visitor = watched.visitor()
    page.mouse.move(400, 200)
    for delta in (400, 400, 400, -500, -300, 600, 600):
        page.mouse.wheel(0, delta)
        page.wait_for_timeout(120)
    scrolls = watched.wait_events(visitor, "scroll")
    assert scrolls[-1]["depth"] == 1.0
    assert sum(s.get("reversals", 0) for s in scrolls) == 2


def test_public_api__custom_search_conversion__sent_as_documented(watched: Watched) -> None:
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.page.evaluate("""() => {
        tactful('event', 'added_to_cart', 49);
        tactful('event', 'not a valid name!', 1);
        tactful('event', 'newsletter.signup');
        tactful('search', {results: 0});
        tactful('conversion', 49.5);
    }""")
    custom = watched.wait_events(visitor, "custom", 2)
    assert [(c["name"], c.get("value")) for c in custom] == [("added_to_cart", 49.0), ("newsletter.signup", None)]
    (search,) = watched.wait_events(visitor, "search")
    assert search["results"] == 0
    (conversion,) = watched.wait_events(visitor, "conversion")
    assert conversion["value"] == 49.5


def test_js_errors__a_burst__reported_once_without_details(watched: Watched) -> None:
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.page.evaluate("""() => {
        for (let i = 0; i < 5; i++) setTimeout(() => { throw new Error('host page bug ' + i); }, 0);
        Promise.reject(new Error('unhandled'));
    }""")
    (error,) = watched.wait_events(visitor, "js_error")
    assert set(error) == {"t", "ts"}
    watched.page.wait_for_timeout(500)
    assert len(watched.server.events(visitor, "js_error")) == 1
    assert len(watched.page_errors) == 6  # the host page's own errors, untouched by the tracker


def test_exit_intent__pointer_leaves_through_the_top__reported(watched: Watched) -> None:
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.page.mouse.move(600, 300)
    watched.page.mouse.move(600, 5, steps=5)
    watched.page.evaluate("""() => document.documentElement.dispatchEvent(
        new MouseEvent('mouseout', {clientX: 600, clientY: -2, bubbles: true, relatedTarget: null}))""")
    (exit_intent,) = watched.wait_events(visitor, "exit_intent")
    assert set(exit_intent) == {"t", "ts"}


def test_idle_and_heartbeats__on_a_fake_clock__reported(watched: Watched) -> None:
    page = watched.page
    page.clock.install()
    watched.goto("/demo")
    visitor = watched.visitor()
    page.clock.run_for(31_000)  # 30 s without input, the page visible
    page.clock.run_for(6_000)  # the batch timer
    (idle,) = watched.wait_events(visitor, "idle")
    assert idle["ms"] >= 30_000
    heartbeats = watched.wait_events(visitor, "heartbeat", 2)
    assert all(h["visible"] is True for h in heartbeats)
    page.mouse.move(100, 100)  # back: the whole pause is reported
    page.clock.run_for(6_000)
    idles = watched.wait_events(visitor, "idle", 2)
    assert idles[1]["ms"] >= idles[0]["ms"]


def test_search__one_empty_search__waits_for_the_flush_and_a_second_goes_at_once(watched: Watched) -> None:
    """Most empty searches are a typo put right by the next search: the first waits for the five-second
    flush, so the put-right can go with it; searching in vain again, or putting it right, goes at once."""
    page = watched.page
    page.clock.install()
    watched.goto("/demo")
    visitor = watched.visitor()
    page.clock.run_for(6_000)
    watched.wait_events(visitor, "page_view")

    def searches() -> list[int]:
        return [event["results"] for event in watched.sent() if event["t"] == "search"]

    page.evaluate("() => tactful('search', {results: 0})")
    page.clock.run_for(1_000)
    watched.pause(1.0)  # real time for a request, had one been made
    assert searches() == []
    page.clock.run_for(4_500)  # the flush
    watched.wait(lambda: searches() == [0])
    page.evaluate("() => tactful('search', {results: 0})")  # in vain again: no timer needed
    watched.wait(lambda: searches() == [0, 0], timeout=3)
    page.evaluate("() => tactful('search', {results: 12})")  # put right
    watched.wait(lambda: searches() == [0, 0, 12], timeout=3)
    page.evaluate("() => tactful('search', {results: 3})")  # an ordinary search waits for the flush
    watched.pause(1.0)
    assert searches() == [0, 0, 12]


def test_session__30_minutes_quiet__a_new_session_same_visitor(watched: Watched) -> None:
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.wait_events(visitor, "page_view")
    first = watched.page.evaluate("() => JSON.parse(localStorage.getItem('tactful.s')).id")
    watched.page.evaluate("""() => {
        const s = JSON.parse(localStorage.getItem('tactful.s'));
        s.at -= 31 * 60 * 1000;
        localStorage.setItem('tactful.s', JSON.stringify(s));
        tactful('search', {results: 0});
    }""")
    watched.wait_events(visitor, "search")
    second = watched.page.evaluate("() => JSON.parse(localStorage.getItem('tactful.s')).id")
    assert second != first
    watched.wait(lambda: any(c["json"]["session"] == second for c in watched.collects if c["json"]))


def test_page_view__from_another_site_then_a_link_inside__only_the_other_site_is_a_referrer(
    watched: Watched,
) -> None:
    watched.page.goto(watched.server.url + "/demo", referer="https://www.bing.com/search?q=kettle")
    watched.page.wait_for_function("() => window.tactful && window.tactful.loaded")
    visitor = watched.visitor()
    (landing,) = watched.wait_events(visitor, "page_view")
    assert landing["ref"] == "https://www.bing.com/search"  # origin and path only
    watched.page.click("a.cart-link")
    watched.page.wait_for_url("**/demo/cart")
    views = watched.wait_events(visitor, "page_view", 2)
    assert views[1]["path"] == "/demo/cart" and "ref" not in views[1]
