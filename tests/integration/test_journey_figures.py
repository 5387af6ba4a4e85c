"""One visitor's whole journey through the real app, and every figure the dashboard shows checked against it.

The app runs under uvicorn on both stores. The visitor is a browser as widget_js is: batches to
``POST /v1/collect``, the invitation's outcomes as events, the chat panel's WebSocket; the agent is the
console's WebSocket. Nothing is written to the store by the test: every figure is what production code
counted. The clock is real time that the test moves forward, so the visitor's dwell and the minutes
between agent-load samples pass at once; the demo site is opened round the clock.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from api import Settings
from tests.api.shopping import ORIGIN
from tests.chat.conftest import ADMIN, Served, Socket, serve
from tracker.merge import UTURN_MS
from triggers import SiteConfig

VARIANTS = {"checkout-help", "checkout-human"}
PRICE = 49.0
RATING = 4


class MovableClock:
    """Real time, started at a chosen moment, that the test can move forward (never back)."""

    def __init__(self, start_s: float) -> None:
        self._offset = start_s - time.time()

    def __call__(self) -> float:
        return time.time() + self._offset

    def to(self, moment_s: float) -> None:
        assert moment_s >= self(), "the journey's clock only moves forward"
        self._offset += moment_s - self()


@dataclass
class Browser:
    """One visitor's browser: each batch at a second of the journey, what it sent kept for the expectations."""

    http: httpx.AsyncClient
    clock: MovableClock
    visitor: str
    start_s: float
    requests: list[float] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def at(self, second: float, *events: dict[str, Any]) -> dict[str, Any] | None:
        self.clock.to(self.start_s + second)
        now_ms = int(self.clock() * 1000)
        batch = [{**event, "ts": now_ms - 10 * (len(events) - i)} for i, event in enumerate(events)]
        batch = batch or [{"t": "heartbeat", "ts": now_ms, "visible": True}]
        response = await self.http.post(
            "/v1/collect",
            headers={"origin": ORIGIN},
            json={
                "v": 1,
                "site": "demo",
                "visitor": self.visitor,
                "session": "s_" + self.visitor[2:],
                "sent_at": now_ms,
                "events": batch,
            },
        )
        assert response.status_code == 200, response.text
        self.requests.append(second)
        self.sent += batch
        decision: dict[str, Any] | None = response.json()["decision"]
        return decision


@dataclass
class Journey:
    browser: Browser
    decision: dict[str, Any]
    invited_at: float
    chat: dict[str, Any]
    window: dict[str, str]
    reserved_while_shown: float


async def _until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return value


def _rollout_visitor(config: SiteConfig) -> str:
    return next(
        visitor
        for n in itertools.count()
        if config.experiment.group("demo", visitor := f"v_journey{n:06d}") == "rollout"
    )


def _next_minute(moment_s: float) -> float:
    return (moment_s // 60 + 1) * 60


async def _load_sample(served: Served, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The newest agent-load sample, once one satisfying ``check`` was written for the current minute."""

    async def newest() -> dict[str, Any] | None:
        now_ms = served.app.state.engine.now_ms()
        samples = await served.store.read_load_samples("demo", now_ms - 1, now_ms)
        return samples[-1] if samples and samples[-1]["at_ms"] > now_ms - 60_000 and check(samples[-1]) else None

    sample: dict[str, Any] = await _until(newest, "an agent-load sample")
    return sample


async def journey(served: Served, clock: MovableClock) -> Journey:
    """Browse, struggle on the checkout, be invited, accept, chat, be helped, rate it, buy."""
    async with served.http() as admin:
        document = (await admin.get("/v1/admin/sites/demo/config")).json()["config"]
        document["hours"] = None  # open at any hour: the test runs at any hour
        assert (await admin.put("/v1/admin/sites/demo/config", json=document)).status_code == 200
        await served.app.state.engine.sites.reload()  # as every worker does within TACTFUL_SITE_REFRESH_S
        created = await admin.post("/v1/admin/sites/demo/agents", json={"name": "Ada"})
    agent: Socket = await served.agent(created.json()["token"])
    await served.wait_capacity(lambda capacity: len(capacity.agents) == 1)
    config = served.app.state.engine.sites.get("demo")
    # The window opens on a fresh minute, so that no agent-load sample from before the agent signed in
    # is in it (samples are per minute); the visitor arrives a second later, the seconds below are theirs.
    opens_s = _next_minute(clock())
    clock.to(opens_s)
    await _load_sample(served, lambda s: s["agents"] == 1)
    start_s = clock() + 1.0
    async with httpx.AsyncClient(base_url=served.url) as http:
        browser = Browser(http, clock, _rollout_visitor(config), start_s)
        await browser.at(0, {"t": "page_view", "path": "/demo/"})
        await browser.at(5, {"t": "page_view", "path": "/demo/product/1"}, {"t": "click", "x": 10, "y": 20})
        await browser.at(10, {"t": "page_view", "path": "/demo/cart"}, {"t": "scroll", "depth": 0.5, "reversals": 0})
        await browser.at(15, {"t": "page_view", "path": "/demo/product/2"})
        # The struggle: two errors on one field, a rage click, a u-turn to the cart and back, dead clicks.
        await browser.at(
            25,
            {"t": "page_view", "path": "/demo/checkout"},
            {"t": "form_error", "field": "postcode", "form": "checkout"},
        )
        await browser.at(
            27,
            {"t": "form_error", "field": "postcode", "form": "checkout"},
            {"t": "rage_click", "count": 4, "sel": "button.pay"},
        )
        await browser.at(28, {"t": "page_view", "path": "/demo/cart"})
        decision = await browser.at(31, {"t": "page_view", "path": "/demo/checkout"})
        second = 31
        while decision is None:
            second += 2
            assert second < 60, "the engine never invited the struggler"
            decision = await browser.at(
                second,
                {"t": "dead_click", "sel": "span.help"} if second % 4 == 1 else {"t": "heartbeat", "visible": True},
            )
        assert decision["mode"] == "agent", decision
        invited_at = second

        # The card is shown (its share of a slot is reserved until it is answered), then accepted.
        await browser.at(invited_at + 1, {"t": "invite_shown", "invite": decision["invite"]})
        await served.decider_settled()
        reserved = await _load_sample(served, lambda s: s["reserved"] > 0)
        await browser.at(invited_at + 3, {"t": "invite_accepted", "invite": decision["invite"]})
        panel = await served.visitor(browser.visitor, decision["invite"])
        offer = await agent.until(lambda f: f["type"] == "offer")
        assert offer["chat"]["id"] == decision["invite"]
        await agent.send(type="accept", chat=decision["invite"])
        await panel.until(lambda f: f["type"] == "state" and f["state"] == "active")
        await panel.send(type="msg", cid="c_v1", text="The postcode field refuses my postcode")
        await agent.until(lambda f: f["type"] == "msg" and f["from"] == "visitor")
        await agent.send(type="msg", chat=decision["invite"], cid="c_a1", text="Five digits, without the space")
        await panel.until(lambda f: f["type"] == "msg" and f["from"] == "agent")

        # The next minute's load sample shows the chat in progress; that minute is over before it ends
        # (a sample replaces the one before it in its minute).
        clock.to(_next_minute(clock()))
        await _load_sample(served, lambda s: s["active"] == 1)
        clock.to(_next_minute(clock()))

        await agent.send(type="end", chat=decision["invite"], stuck=True, resolved=True)
        await agent.until(lambda f: f["type"] == "closed")
        await panel.until(lambda f: f["type"] == "state" and f["state"] == "ended")
        await panel.send(type="rate", score=RATING)
        assert (await panel.until(lambda f: f["type"] == "rated"))["ok"] is True
        await browser.at(clock() - start_s + 20, {"t": "conversion", "value": PRICE})

        clock.to(clock() + 60)  # a minute later: the slot is free again
        await _load_sample(served, lambda s: s["active"] == 0)
        await served.decider_settled()
        end_ms = served.app.state.engine.now_ms() + 1000
    chat = await served.chat.service.chat("demo", decision["invite"])
    window = {"start": str(int(opens_s * 1000)), "end": str(end_ms)}
    return Journey(browser, decision, invited_at, chat, window, reserved["reserved"])


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def live(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[tuple[Served, MovableClock]]:
    # From the real now, so that the in-process learner (on the wall clock) sees the outcomes in their order.
    clock = MovableClock(time.time())
    values: dict[str, Any] = {
        "public_url": ORIGIN,
        "demo": True,
        "data_dir": tmp_path,
        "admin_token": ADMIN,
        "run_learner": True,
        "agent_heartbeat_s": 0.2,
        "agent_presence_ttl_s": 120.0,  # the clock's jumps never outlast a presence
        "agent_offer_timeout_s": 10.0,
        "availability_refresh_s": 0.1,
        "load_sample_s": 0.1,
        "model_refresh_s": 0.2,
    }
    if request.param == "redis":
        from tests.api.conftest import delete_prefix

        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix")
        values |= {"redis_url": url, "redis_prefix": prefix, "redis_shards": 4}
    async with serve(Settings(**values), clock=clock) as served:
        yield served, clock
    if request.param == "redis":
        delete_prefix(url, prefix)


def _expected_hotspots(sent: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """The struggle per page, counted from what the browser sent, by docs/analytics.md's definition."""
    pages: dict[str, Counter[str]] = {}
    current, views = None, []
    for event in sent:
        if event["t"] == "page_view":
            current = event["path"]
            views.append((event["ts"], current))
            pages.setdefault(current, Counter())
            if (
                len(views) >= 3
                and views[-3][1] == views[-1][1] != views[-2][1]
                and views[-1][0] - views[-2][0] <= UTURN_MS
            ):
                pages[views[-2][1]]["u_turns"] += 1
        elif event["t"] in ("rage_click", "dead_click", "form_error") and current is not None:
            pages[current][event["t"] + "s"] += 1
    return {page: counts for page, counts in pages.items() if sum(counts.values())}


async def test_journey__one_helped_visitor__every_dashboard_figure_is_that_journey(
    live: tuple[Served, MovableClock],
) -> None:
    served, clock = live
    trip = await journey(served, clock)
    browser, decision = trip.browser, trip.decision
    score = decision["score"]

    async def learned() -> dict[str, Any] | None:
        async with served.http() as admin:
            model = (await admin.get("/v1/admin/sites/demo/analytics", params=trip.window)).json()["model"]
        labels = (model["quality"] or {}).get("labels") or {}
        return model if labels.get("by_outcome", {}).get("accepted") else None

    # A verdict that agrees with the acceptance teaches nothing new, so the acceptance is the last commit.
    await _until(learned, "the learner's commit of the acceptance", timeout=15)

    async with served.http() as admin:
        response = await admin.get("/v1/admin/sites/demo/analytics", params=trip.window)
        funnel_csv = await admin.get("/v1/admin/sites/demo/analytics/funnel.csv", params=trip.window)
    assert response.status_code == 200, response.text
    report = response.json()

    assert report["funnel"] == {
        "visitors": 1,
        "engaged": 1,
        "eligible": 1,
        "invited": 1,
        "shown": 1,
        "accepted": 1,
        "dismissed": 0,
        "ignored": 0,
        "chats_requested": 1,
        "chats_started": 1,
        "chats_resolved": 1,
        "chats_missed": 0,
        "conversions": 1,
        "revenue": PRICE,
        "csat": float(RATING),
    }
    rows = list(csv.DictReader(io.StringIO(funnel_csv.text)))
    assert {row["stage"]: row["value"] for row in rows} == {
        stage: "" if value is None else str(value) for stage, value in report["funnel"].items()
    }
    assert report["invitations"] == {
        "made": 1,
        "by_mode": {"agent": 1},
        "shown": 1,
        "accepted": 1,
        "dismissed": 0,
        "ignored": 0,
    }

    uplift = report["uplift"]
    assert uplift["invited"] == {"visitors": 1, "converted": 1, "rate": 1.0}
    assert uplift["holdout"] == {"visitors": 0, "converted": 0, "rate": None}
    assert uplift["difference"] is None and uplift["ci95"] is None  # one arm is empty: no invented figure
    assert uplift["intent_to_treat"]["treated"] == {"visitors": 1, "converted": 1, "rate": 1.0}

    reasons = report["reasons"]
    assert reasons["decisions"] == len(browser.requests)  # one decision per collect request
    assert reasons["decisions_by_reason"]["too_early"] == sum(1 for s in browser.requests if s < 20)
    assert reasons["decisions_by_reason"]["score_above_threshold"] == 1
    assert reasons["sessions_not_invited_by_reason"] == {}  # the only session was invited

    histogram = report["scores"]["histogram"]
    assert sum(b["sessions"] for b in histogram) == 1 and sum(b["treated"] for b in histogram) == 1
    (top,) = [b for b in histogram if b["sessions"]]
    assert top["to"] > score  # the session's highest recorded score is at least the invitation's
    hours = (int(trip.window["end"]) - int(trip.window["start"])) / 3_600_000
    projection = report["scores"]["projection"]
    assert projection[int(score * 100)]["invitations_per_hour"] == round(1 / hours, 4)
    assert report["scores"]["capacity_slots"] == 3.0

    load = report["agent_load"]
    assert {(s["agents"], s["slots"]) for s in load["series"]} == {(1, 3)}
    assert (load["mean_slots"], load["min_slots"], load["peak_active"]) == (3.0, 3.0, 1)
    assert load["series"][-1]["active"] == 0
    assert trip.reserved_while_shown == round(score, 3)  # the shown agent invitation's expected acceptance

    page = {
        "key": "/demo/checkout",
        "invited": 1,
        "shown": 1,
        "accepted": 1,
        "dismissed": 0,
        "acceptance_rate": 1.0,
        "dismissal_rate": 0.0,
    }
    assert report["outcomes"]["by_page"] == [page]
    assert decision["variant"] in VARIANTS
    assert report["outcomes"]["by_variant"] == [page | {"key": decision["variant"]}]

    expected = _expected_hotspots(browser.sent)
    assert set(expected) == {"/demo/checkout", "/demo/cart"} and expected["/demo/cart"]["u_turns"] == 1
    hotspots = {row["page"]: row for row in report["hotspots"]}
    assert set(hotspots) == set(expected)
    for page_path, counts in expected.items():
        row = hotspots[page_path]
        assert {kind: row[kind] for kind in ("rage_clicks", "dead_clicks", "form_errors", "u_turns")} == {
            kind: counts[kind] for kind in ("rage_clicks", "dead_clicks", "form_errors", "u_turns")
        }, page_path
        assert row["visitors"] == 1 and row["per_visitor"] == row["total"] == sum(counts.values())

    quality = report["model"]["quality"]
    assert quality["labels"]["decisions_regular"] == 1 and quality["labels"]["decisions_explored"] == 0
    assert quality["explored_share"] == 0.0
    assert quality["labels"]["by_outcome"]["accepted"] == 1
    assert quality["n_learned"] == 1  # the acceptance; the verdict confirms it and adds no example
    assert report["model"]["committed_version"] >= 1

    chat = trip.chat
    assert (chat["state"], chat["ended_by"], chat["csat"]) == ("ended", "agent", RATING)
    assert (chat["outcome"]["stuck"], chat["outcome"]["resolved"]) == (True, True)
