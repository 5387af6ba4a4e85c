"""``recheck_in_ms`` in a collect response: the tracker sends a heartbeat then, with no help from the visitor.

The engine answers ``"decision": null, "recheck_in_ms": N`` when the only thing between the
visitor and an invitation is that the evidence must hold a little longer; the heartbeat N ms
later lets it decide again while the visitor sits still (widget_js/src/outbox.js). The requests
go to the real server; a route only rewrites ``recheck_in_ms`` in its answers, so every recheck
here is one the test asked for. Real time throughout: the normal heartbeat comes every 15 s (and
waits for the 5 s batch timer), so a heartbeat within a few seconds of a quiet page view is a recheck.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.browser.conftest import Watched

pytestmark = pytest.mark.browser

QUIET_S = 3.0
"""Long enough for a recheck asked for at 1.5 s to have come, far short of the 15 s heartbeat."""
LATE_S = 1.0
"""How much later than asked the heartbeat may come (the page's timer, the route's round trips)."""


@dataclass
class Answers:
    """The page's collect requests, and what the route put in their answers.

    ``rechecks[i]`` is merged into the i-th successful answer (``None``: no ``recheck_in_ms``);
    every later answer goes back without one, whatever the server said.
    """

    rechecks: list[Any]
    requests: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)

    def handle(self, route: Any) -> None:
        self.requests.append((time.monotonic(), json.loads(route.request.post_data or "null")))
        response = route.fetch()
        if response.status != 200:
            route.fulfill(response=response)
            return
        reply = {key: value for key, value in json.loads(response.text()).items() if key != "recheck_in_ms"}
        index = len(self.answered)
        if index < len(self.rechecks) and self.rechecks[index] is not None:
            reply["recheck_in_ms"] = self.rechecks[index]
        self.answered.append(time.monotonic())  # before the page can have read it
        route.fulfill(response=response, json=reply)

    def heartbeat_requests(self) -> list[tuple[float, dict[str, Any]]]:
        return [(at, body) for at, body in self.requests if body and any(e["t"] == "heartbeat" for e in body["events"])]

    def heartbeats(self) -> list[float]:
        """When each request carrying a heartbeat reached the route."""
        return [at for at, _ in self.heartbeat_requests()]


def open_demo(watched: Watched, *rechecks: Any) -> Answers:
    """The demo shop with the route in place; returns once its page view has been answered."""
    answers = Answers(list(rechecks))
    watched.page.route("**/v1/collect", answers.handle)
    watched.goto("/demo")
    watched.wait(lambda: answers.answered)
    return answers


def sent_heartbeats(watched: Watched) -> list[dict[str, Any]]:
    """Heartbeats in anything the page sent, beacons included."""
    return [event for event in watched.sent() if event["t"] == "heartbeat"]


def test_recheck__1500_ms_in_the_first_answer__a_heartbeat_then_without_any_input(watched: Watched) -> None:
    answers = open_demo(watched, 1500)
    visitor = watched.visitor()
    watched.wait(answers.heartbeats, timeout=1.5 + LATE_S + 1)
    ((at, body),) = answers.heartbeat_requests()
    assert 1.5 <= at - answers.answered[0] <= 1.5 + LATE_S
    assert [e["t"] for e in body["events"]] == ["heartbeat"]  # sent at once, not after the 5 s batch timer
    (heartbeat,) = watched.wait_events(visitor, "heartbeat")
    assert heartbeat["visible"] is True
    watched.pause(QUIET_S)
    assert len(answers.heartbeats()) == 1  # its own answer asked for nothing more


@pytest.mark.parametrize(
    "recheck", [None, 0, -1500, 1500.5, "1500"], ids=["absent", "zero", "negative", "fractional", "string"]
)
def test_recheck__absent_or_not_a_positive_integer__no_early_heartbeat(watched: Watched, recheck: Any) -> None:
    answers = open_demo(watched, recheck)
    watched.pause(QUIET_S)
    assert answers.heartbeats() == []
    assert sent_heartbeats(watched) == []
    assert len(answers.answered) >= 1  # the page view did go through the route


def test_recheck__a_newer_answer__replaces_the_pending_one(watched: Watched) -> None:
    answers = open_demo(watched, 1500, 2500)
    watched.page.evaluate("() => tactful('conversion')")  # urgent: a second collect now
    watched.wait(lambda: len(answers.answered) >= 2)
    assert answers.answered[1] - answers.answered[0] < 1.0  # well before the first recheck was due
    watched.wait(answers.heartbeats, timeout=2.5 + LATE_S + 1)
    watched.pause(QUIET_S)
    (at,) = answers.heartbeats()  # one heartbeat, not one per answer
    assert 2.5 <= at - answers.answered[1] <= 2.5 + LATE_S


def test_recheck__page_hidden_meanwhile__never_fires(watched: Watched) -> None:
    answers = open_demo(watched, 1500)
    watched.pause(0.3)
    for state in ("hidden", "visible"):  # out of sight and back, both before the recheck is due
        watched.page.evaluate(
            """(state) => {
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
            state,
        )
        watched.pause(0.3)
    watched.pause(QUIET_S)
    assert answers.heartbeats() == []
    assert sent_heartbeats(watched) == []


def test_recheck__consent_withdrawn_meanwhile__never_fires(watched: Watched) -> None:
    answers = open_demo(watched, 1500)
    watched.pause(0.3)
    watched.page.evaluate("() => tactful('consent', false)")
    watched.pause(QUIET_S)
    assert answers.heartbeats() == []
    assert sent_heartbeats(watched) == []
    assert any(e.get("name") == "tactful.opt_out" for e in watched.sent())  # it was on until then
