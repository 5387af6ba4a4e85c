"""Analytics on known traffic: scripted visitors through /v1/collect, every figure what the script implies."""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Iterator
from statistics import NormalDist
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import Settings, create_app
from api.routes.analytics import _cell
from tests.api.shopping import NOON_WEDNESDAY_LONDON, Clock, Visitor, agents_online, shop_config, struggle

TOKEN = "analytics-test-admin-token-012345"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
START_MS = int(NOON_WEDNESDAY_LONDON * 1000) - 60_000
END_MS = int(NOON_WEDNESDAY_LONDON * 1000) + 3_600_000
WINDOW = {"start": str(START_MS), "end": str(END_MS)}
HOURS = (END_MS - START_MS) / 3_600_000


class Counted(Visitor):
    """Counts its collect requests: each one is one decision."""

    requests = 0

    def at(self, second: float, *events: dict[str, Any]) -> dict[str, Any] | None:
        self.requests += 1
        return super().at(second, *events)


def _ids(group: str) -> Iterator[str]:
    config = shop_config()
    for n in itertools.count():
        visitor = f"v_an{group[:3]}{n:06d}"
        if config.experiment.group("demo", visitor) == group:
            yield visitor


@pytest.fixture
def traffic(app_settings: Settings) -> Iterator[tuple[TestClient, dict[str, Counted]]]:
    """Seven visitors, each starting 100 s after the previous one:

    R1, R2, R3 (rollout) struggle and are invited: R1 accepts and later buys (40), R2 dismisses, R3 ignores.
    H1, H2 (holdout) struggle the same way and are never invited: H1 later buys (25).
    C1 (rollout) reads calmly for a minute and buys (15) uninvited. E1 leaves after 5 s.
    """
    clock = Clock(NOON_WEDNESDAY_LONDON)
    settings = app_settings.model_copy(update={"admin_token": TOKEN, "load_sample_s": 0.05})
    with TestClient(create_app(settings, clock=clock)) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        client.portal.call(engine.sites.put, shop_config())  # type: ignore[union-attr]
        agents_online(client, 2)
        rollout, holdout = _ids("rollout"), _ids("holdout")
        people = {
            name: Counted(client, clock, next(holdout if name[0] == "H" else rollout))
            for name in ("R1", "R2", "R3", "H1", "H2", "C1", "E1")
        }
        for n, name in enumerate(("R1", "R2", "R3", "H1", "H2")):
            visitor, start = people[name], 100 * n
            visitor.browse(until=start + 25, start=start)
            invited_at = struggle(visitor, onset=start + 25)
            assert (invited_at is not None) == (name[0] == "R"), name
            if invited_at is not None:
                invite = visitor.decisions[0][1]["invite"]
                outcome = {"R1": "invite_accepted", "R2": "invite_dismissed"}.get(name)
                visitor.at(
                    invited_at + 1,
                    {"t": "invite_shown", "invite": invite},
                    *([{"t": outcome, "invite": invite}] if outcome else []),
                )
        people["C1"].browse(until=560, start=500)
        people["E1"].at(600, {"t": "page_view", "path": "/"})
        people["E1"].at(605)
        for name, value in (("R1", 40.0), ("H1", 25.0), ("C1", 15.0)):
            people[name].at(900 + len(name), {"t": "conversion", "value": value})

        async def settle() -> None:
            # R1's chat, as the chat service counts it (no chat runs here: tests/integration/test_journey_figures.py
            # drives a real one and checks that the service writes these).
            await engine.store.add_counters(
                "demo", START_MS // 86_400_000, {"chats_requested": 1, "chats_started": 1, "chats_resolved": 1}
            )
            await engine.decider.drain()
            await engine.decider.counters.flush()

        client.portal.call(settle)  # type: ignore[union-attr]
        yield client, people


def _report(client: TestClient) -> dict[str, Any]:
    response = client.get("/v1/admin/sites/demo/analytics", params=WINDOW, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_analytics__scripted_visitors__funnel_is_exactly_the_script(
    traffic: tuple[TestClient, dict[str, Counted]],
) -> None:
    client, _ = traffic

    funnel = _report(client)["funnel"]

    assert funnel == {
        "visitors": 7,
        "engaged": 6,
        "eligible": 5,
        "invited": 3,
        "shown": 3,
        "accepted": 1,
        "dismissed": 1,
        "ignored": 1,
        "chats_requested": 1,
        "chats_started": 1,
        "chats_resolved": 1,
        "chats_missed": 0,
        "conversions": 3,
        "revenue": 80.0,
        "csat": None,
    }


def test_analytics__scripted_visitors__uplift_counts_and_confidence_interval(
    traffic: tuple[TestClient, dict[str, Counted]],
) -> None:
    client, _ = traffic

    uplift = _report(client)["uplift"]

    assert uplift["invited"] == {"visitors": 3, "converted": 1, "rate": 1 / 3}
    assert uplift["holdout"] == {"visitors": 2, "converted": 1, "rate": 0.5}
    assert uplift["difference"] == pytest.approx(-1 / 6)
    # Reference: Wald interval for a difference of proportions, by hand.
    z = NormalDist().inv_cdf(0.975)
    half = z * math.sqrt((1 / 3) * (2 / 3) / 3 + 0.5 * 0.5 / 2)
    assert round(z, 4) == 1.96 and round(half, 4) == 0.8745
    assert uplift["ci95"] == pytest.approx([-1 / 6 - half, -1 / 6 + half])
    assert uplift["intent_to_treat"]["treated"] == {"visitors": 3, "converted": 1, "rate": 1 / 3}


def test_analytics__scripted_visitors__reasons_are_counted_per_decision_and_per_session(
    traffic: tuple[TestClient, dict[str, Counted]],
) -> None:
    client, people = traffic

    reasons = _report(client)["reasons"]

    assert reasons["decisions"] == sum(p.requests for p in people.values())
    by_reason = reasons["decisions_by_reason"]
    assert by_reason["holdout"] == people["H1"].requests + people["H2"].requests  # every holdout decision
    assert by_reason["too_early"] == 6 * 4 + 2  # browsing at 0, 5, 10, 15 s; E1 at 0 and 5 s
    assert by_reason["score_above_threshold"] == 3
    assert by_reason["cooldown_after_dismiss"] == 1  # R2's own dismissal batch: nothing after it
    sessions = reasons["sessions_not_invited_by_reason"]
    assert sessions["holdout"] == 2 and sum(sessions.values()) == 3  # H1, H2 and C1; E1 never engaged


def test_analytics__scripted_visitors__scores_projection_outcomes_and_hotspots(
    traffic: tuple[TestClient, dict[str, Counted]],
) -> None:
    client, _ = traffic

    report = _report(client)

    histogram = report["scores"]["histogram"]
    assert sum(b["sessions"] for b in histogram) == 6 and sum(b["treated"] for b in histogram) == 4
    projection = report["scores"]["projection"]
    assert projection[0]["threshold"] == 0 and projection[0]["invitations_per_hour"] == round(4 / HOURS, 4)
    at_config = projection[25]
    assert at_config["threshold"] == 0.25 and at_config["invitations_per_hour"] >= round(3 / HOURS, 4)
    assert [row["invitations_per_hour"] for row in projection] == sorted(
        (row["invitations_per_hour"] for row in projection), reverse=True
    )
    assert report["invitations"]["made"] == 3 and report["invitations"]["by_mode"] == {"agent": 3}
    by_page = report["outcomes"]["by_page"]
    checkout = by_page[0]["key"]  # the shared e2e script's checkout page
    assert checkout.endswith("/checkout")
    assert by_page == [
        {
            "key": checkout,
            "invited": 3,
            "shown": 3,
            "accepted": 1,
            "dismissed": 1,
            "acceptance_rate": 1 / 3,
            "dismissal_rate": 1 / 3,
        }
    ]
    variants = report["outcomes"]["by_variant"]
    assert all(v["key"].startswith("checkout") for v in variants)  # the demo's checkout variants
    assert sum(v["invited"] for v in variants) == 3 and sum(v["accepted"] for v in variants) == 1
    hot = {row["page"]: row for row in report["hotspots"]}
    assert report["hotspots"][0]["page"] == checkout
    assert hot[checkout]["form_errors"] == 10 and hot[checkout]["rage_clicks"] == 5
    assert hot[checkout.replace("checkout", "cart")]["u_turns"] == 5


def test_analytics__agent_load_is_sampled_against_capacity(traffic: tuple[TestClient, dict[str, Counted]]) -> None:
    client, _ = traffic
    deadline = time.monotonic() + 3
    while not (series := _report(client)["agent_load"]["series"]):
        assert time.monotonic() < deadline, "no agent-load sample within 3 s"
        time.sleep(0.05)

    assert series[-1]["agents"] == 2 and series[-1]["slots"] == 6


def test_analytics__csv_export__one_section_per_file(traffic: tuple[TestClient, dict[str, Counted]]) -> None:
    client, _ = traffic

    response = client.get("/v1/admin/sites/demo/analytics/funnel.csv", params=WINDOW, headers=ADMIN)

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "stage,value" and "visitors,7" in lines and "revenue,80.0" in lines
    hot = client.get("/v1/admin/sites/demo/analytics/hotspots.csv", params=WINDOW, headers=ADMIN).text
    assert hot.splitlines()[0].startswith("page,visitors,rage_clicks")
    assert hot.splitlines()[1].split(",")[0].endswith("/checkout")
    assert client.get("/v1/admin/sites/demo/analytics/nope.csv", headers=ADMIN).status_code == 404


def test_analytics__csv_cell_from_a_visitor__never_a_formula() -> None:
    assert _cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert _cell("/checkout") == "/checkout" and _cell(-0.5) == -0.5


def test_analytics__what_if__replays_the_window_under_the_edited_config(
    traffic: tuple[TestClient, dict[str, Counted]],
) -> None:
    client, _ = traffic
    document = client.get("/v1/admin/sites/demo/config", headers=ADMIN).json()["config"]
    checkout = _report(client)["outcomes"]["by_page"][0]["key"]
    document["targeting"]["exclude_paths"] = [checkout, checkout.replace("checkout", "cart")]

    response = client.post(
        "/v1/admin/sites/demo/what-if", params=WINDOW, headers=ADMIN, json={"config": document, "agents": 2}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["current"]["invitations"] >= 1
    assert body["proposed"]["invitations"] < body["current"]["invitations"]
    assert body["proposed"]["not_invited_by_reason"].get("excluded_path", 0) > 0
    bad = client.post(
        "/v1/admin/sites/demo/what-if",
        params=WINDOW,
        headers=ADMIN,
        json={"config": {**document, "timing": {"score_threshold": 2}}},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "timing.score_threshold"


def test_analytics__what_if__counts_its_scores_as_the_slider_does(
    traffic: tuple[TestClient, dict[str, Counted]],
) -> None:
    """The what-if says which scores it used, and every invitation it finds above the threshold comes from
    a session it counts as reaching that threshold, on a histogram built like the slider's: a replay never
    invites a session that its own histogram has none of."""
    client, _ = traffic
    document = client.get("/v1/admin/sites/demo/config", headers=ADMIN).json()["config"]
    reached: list[int] = []
    for threshold in (0.1, 0.25, 0.4, 0.6):
        proposed = {**document, "timing": {**document["timing"], "score_threshold": threshold}}
        body = client.post("/v1/admin/sites/demo/what-if", params=WINDOW, headers=ADMIN, json={"config": proposed})
        assert body.status_code == 200, body.text
        answer = body.json()
        assert answer["agents"] == answer["agents_online"]  # no number given: the agents online now
        assert set(answer["scored_by"]) == {"model_version", "labels"}
        candidates = answer["proposed"]["candidates"]
        assert candidates["threshold"] == threshold
        assert sum(row["sessions"] for row in candidates["histogram"]) == candidates["sessions"]
        above = sum(row["treated"] for row in candidates["histogram"] if row["from"] >= threshold - 1e-9)
        assert above <= candidates["reached_threshold"]
        assert (
            answer["proposed"]["invitations_by_reason"].get("score_above_threshold", 0)
            <= candidates["reached_threshold"]
        )
        reached.append(candidates["reached_threshold"])
    assert reached == sorted(reached, reverse=True) and reached[0] > 0


def test_analytics__bad_window__400_naming_the_parameter(traffic: tuple[TestClient, dict[str, Counted]]) -> None:
    client, _ = traffic
    assert (
        client.get("/v1/admin/sites/demo/analytics", params={"start": "yesterday"}, headers=ADMIN).json()["field"]
        == "start"
    )
    assert (
        client.get(
            "/v1/admin/sites/demo/analytics", params={"start": str(END_MS), "end": str(START_MS)}, headers=ADMIN
        ).status_code
        == 400
    )
    assert client.get("/v1/admin/sites/demo/analytics").status_code == 401
    assert Counter(client.get("/v1/admin/sites/nosuch/analytics", headers=ADMIN).json()) != Counter()
