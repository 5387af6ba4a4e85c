"""The bundle is a good guest: no console errors, no long tasks, fine under a strict CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Watched

pytestmark = pytest.mark.browser

# Long Animation Frames name the scripts that ran in a slow frame; long tasks do not.
OBSERVE = """
window.__slow = [];
for (const type of ['long-animation-frame', 'longtask']) {
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        window.__slow.push({type, duration: entry.duration,
          scripts: (entry.scripts || []).map((s) => ({url: s.sourceURL, duration: s.duration}))});
      }
    }).observe({type, buffered: true});
  } catch (e) {}
}
"""


def _slow(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("() => window.__slow")  # type: ignore[no-any-return]


def test_browsing_the_shop__no_console_errors_no_long_tasks_from_the_bundle(context: Any, watched: Watched) -> None:
    context.add_init_script(OBSERVE)
    page = watched.page
    slow: list[dict[str, Any]] = []
    watched.goto("/demo")
    visitor = watched.visitor()
    page.mouse.wheel(0, 400)
    slow += _slow(page)
    page.click(".tile a >> nth=1")
    page.wait_for_url("**/demo/product/*")
    page.click("#add-to-cart")
    for _ in range(3):
        page.click("h1")
    slow += _slow(page)
    page.click("a.cart-link")
    page.click("#to-checkout")
    page.wait_for_url("**/demo/checkout")
    page.click("#place-order")
    watched.wait_events(visitor, "form_error")
    slow += _slow(page)
    page.click("a[href='/demo/help/shipping']")
    page.click("a[data-topic=returns]")
    page.fill("#q", "teapot")
    page.press("#q", "Enter")
    page.wait_for_url("**/demo/search?q=*")
    watched.wait_events(visitor, "search")
    slow += _slow(page)

    assert watched.console_errors == []
    assert watched.page_errors == []
    ours = [
        (frame["duration"], script)
        for frame in slow
        for script in frame["scripts"]
        if "tactful" in script["url"] and script["duration"] > 50
    ]
    assert ours == []
    assert page.evaluate(
        "() => typeof window.tactful === 'function' && Object.keys(window).filter("
        "k => k.toLowerCase().includes('tactful'))"
    ) == ["tactful"]  # one global, nothing else


def test_strict_csp__demo_pages__bundle_runs_without_unsafe_inline(watched: Watched) -> None:
    response = watched.page.goto(watched.server.url + "/demo/checkout")
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    watched.page.wait_for_function("() => window.tactful && window.tactful.loaded")
    watched.wait_events(watched.visitor(), "page_view")
    assert watched.console_errors == []  # a CSP violation would be reported here
