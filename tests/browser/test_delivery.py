"""Getting events to the API: beacons at navigation, retries, outages, refusals."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from tests.browser.conftest import Watched

pytestmark = pytest.mark.browser

NO_BEACON = "Object.defineProperty(Navigator.prototype, 'sendBeacon', {value: undefined})"


def _answer(status: int, retry_after: str | None = None) -> dict[str, Any]:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return {
        "status": status,
        "headers": headers,
        "content_type": "application/json",
        "body": json.dumps({"error": "test", "field": None, "message": "from the test"}),
    }


def _fetched_names(watched: Watched) -> set[str]:
    return {e.get("name") for c in watched.collects if c["json"] and c["type"] == "fetch" for e in c["json"]["events"]}


def test_pending_batch__at_navigation__arrives_by_beacon(watched: Watched) -> None:
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.wait_events(visitor, "page_view")
    watched.page.evaluate("() => tactful('event', 'left_with_the_page', 7)")  # waits for the 5 s batch timer
    watched.page.click("a.cart-link")
    watched.page.wait_for_url("**/demo/cart")
    (custom,) = watched.wait_events(visitor, "custom")
    assert custom["name"] == "left_with_the_page"
    assert "left_with_the_page" not in _fetched_names(watched)  # so it went by sendBeacon


def test_outage__503_then_recovery__every_event_arrives_once(context: Any, watched: Watched) -> None:
    context.add_init_script(NO_BEACON)  # the reload below must rely on localStorage alone
    page = watched.page
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.wait_events(visitor, "page_view")
    refused: list[float] = []

    def outage(route: Any) -> None:
        refused.append(time.monotonic())
        route.fulfill(**_answer(503, "1"))

    page.route("**/v1/collect", outage)
    for i in range(6):
        page.evaluate("(i) => tactful('event', 'outage_' + i, i)", i)
    page.evaluate("() => tactful('conversion')")  # urgent: sends at once, into the outage
    watched.wait(lambda: len(refused) >= 2)
    page.reload()  # mid-outage: the queue survives in localStorage
    page.wait_for_function("() => window.tactful && window.tactful.loaded")
    for i in range(6, 12):
        page.evaluate("(i) => tactful('event', 'outage_' + i, i)", i)
    page.evaluate("() => tactful('conversion', 12)")
    watched.wait(lambda: len(refused) >= 5)
    assert watched.server.events(visitor, "custom") == []

    page.unroute("**/v1/collect")
    watched.wait(lambda: len(watched.server.events(visitor, "custom")) >= 12, timeout=20)
    page.wait_for_timeout(1500)  # any late duplicate would land by now
    names = Counter(e["name"] for e in watched.server.events(visitor, "custom"))
    assert names == Counter(f"outage_{i}" for i in range(12))
    assert len(watched.server.events(visitor, "conversion")) == 2
    assert len(watched.server.events(visitor, "page_view")) == 2
    sent = Counter(e.get("name") for e in watched.sent() if e["t"] == "custom")
    assert max(sent.values()) > 1  # the same events really were sent again, and counted once


def test_retry__identical_batch_resent__server_counts_it_once(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.wait_events(visitor, "page_view")
    bodies: list[dict[str, Any]] = []

    def lost_answer(route: Any) -> None:
        """The server got it, but the answer never came back: the tracker must resend it unchanged."""
        bodies.append(json.loads(route.request.post_data))
        response = route.fetch()
        route.fulfill(**_answer(503, "1")) if len(bodies) == 1 else route.fulfill(response=response)

    page.route("**/v1/collect", lost_answer)
    page.evaluate("() => tactful('conversion')")  # urgent: sends at once
    watched.wait(lambda: len(bodies) >= 2)
    assert bodies[0]["events"] == bodies[1]["events"]  # a sealed batch never changes
    assert bodies[1]["sent_at"] >= bodies[0]["sent_at"]
    page.wait_for_timeout(300)
    assert len(watched.server.events(visitor, "conversion")) == 1


def test_rate_limited__429__waits_for_retry_after(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo")
    watched.wait_events(watched.visitor(), "page_view")
    attempts: list[float] = []

    def limited(route: Any) -> None:
        attempts.append(time.monotonic())
        route.fulfill(**_answer(429, "3")) if len(attempts) == 1 else route.continue_()

    page.route("**/v1/collect", limited)
    page.evaluate("() => tactful('conversion')")  # urgent: sends at once
    watched.wait(lambda: len(attempts) >= 2, timeout=10)
    assert attempts[1] - attempts[0] >= 2.8  # not the 1 s the tracker's own backoff would start with


def test_refused__400__dropped_not_retried(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo")
    watched.wait_events(watched.visitor(), "page_view")
    attempts: list[float] = []

    def refuse(route: Any) -> None:
        attempts.append(time.monotonic())
        route.fulfill(**_answer(400))

    page.route("**/v1/collect", refuse)
    page.evaluate("() => tactful('conversion')")  # urgent: sends at once
    watched.wait(lambda: attempts)
    page.wait_for_timeout(2500)
    assert len(attempts) == 1
    assert page.evaluate("() => JSON.parse(localStorage.getItem('tactful.q')).b") == []


def test_network_error__requests_fail__retried_until_through(watched: Watched) -> None:
    page = watched.page
    watched.goto("/demo")
    visitor = watched.visitor()
    watched.wait_events(visitor, "page_view")
    failures: list[float] = []

    def flaky(route: Any) -> None:
        if len(failures) < 2:
            failures.append(time.monotonic())
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route("**/v1/collect", flaky)
    page.evaluate("() => tactful('conversion', 12)")
    (conversion,) = watched.wait_events(visitor, "conversion")
    assert len(failures) == 2 and conversion["value"] == 12


def test_queue__long_outage__bounded_and_stale_batches_dropped(context: Any, watched: Watched) -> None:
    """50 batches at most survive in localStorage, and none the server would refuse as a day old."""
    context.add_init_script("""(() => {
        const now = Date.now(), batch = (i, ts) => ({k: 'demo', v: 'v_seededvisitor', s: 's_seededsession',
                                                      e: [{t: 'custom', name: 'seeded_' + i, ts}]});
        const batches = [batch('stale', now - 25 * 3600 * 1000)];
        for (let i = 0; i < 60; i++) batches.push(batch(i, now - 60000 + i));
        if (!sessionStorage.getItem('seeded')) {
            sessionStorage.setItem('seeded', '1');
            localStorage.setItem('tactful.q', JSON.stringify({p: [], o: null, b: batches}));
        }
    })()""")
    page = watched.page
    page.route("**/v1/collect", lambda route: route.fulfill(**_answer(503, "30")))
    watched.goto("/demo")
    queued = page.evaluate("() => JSON.parse(localStorage.getItem('tactful.q')).b")
    names = [batch["e"][0].get("name") for batch in queued]
    assert len(queued) == 50
    assert "seeded_stale" not in names and "seeded_0" not in names  # the oldest went first
    assert names[-1] is None  # this page's own page view, kept
