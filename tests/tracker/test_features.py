"""Each behaviour signal, table-driven: events in, the features a model and a marketer read out."""

from __future__ import annotations

from typing import Any

import pytest

from api.store import MemoryStore
from tests.factories import T0, ev, page, prepared
from tracker.features import FEATURES, NO_U_TURN_S, describe, extract

S = 1000  # one second in ms


async def fold(*batches: list[dict[str, Any]], visitor: str = "v_features1") -> tuple[dict[str, str], dict[str, str]]:
    store = MemoryStore()
    for batch in batches:
        await store.ingest(prepared(batch, visitor=visitor))
    return await store.load_visitor("demo", visitor)


CASES: list[tuple[str, list[list[dict[str, Any]]], int, dict[str, float]]] = [
    (
        "time on site and page",
        [[page(T0, "/"), page(T0 + 40 * S, "/pricing")]],
        T0 + 65 * S,
        {"time_on_site_s": 65, "time_on_page_s": 25, "pages_viewed": 2, "distinct_paths": 2},
    ),
    (
        "distinct paths ignore query strings",
        [[page(T0, "/p?a=1"), page(T0 + S, "/p?a=2"), page(T0 + 2 * S, "/q")]],
        T0 + 3 * S,
        {"pages_viewed": 3, "distinct_paths": 2},
    ),
    (
        "rage clicks are bursts",
        [[page(T0, "/"), ev("rage_click", T0 + S, count=5), ev("rage_click", T0 + 9 * S, count=3)]],
        T0 + 10 * S,
        {"rage_clicks": 2, "clicks": 0},
    ),
    ("dead clicks", [[page(T0, "/"), ev("dead_click", T0 + S, sel="span.x")]], T0 + 2 * S, {"dead_clicks": 1}),
    (
        "ordinary clicks are not struggle",
        [[page(T0, "/"), *[ev("click", T0 + i * S, x=i, y=i) for i in range(1, 6)]]],
        T0 + 6 * S,
        {"clicks": 5, "rage_clicks": 0, "dead_clicks": 0},
    ),
    (
        "form errors and repeats on the same field",
        [
            [
                page(T0, "/checkout"),
                ev("form_error", T0 + S, field="zip", form="checkout"),
                ev("form_error", T0 + 2 * S, field="zip", form="checkout"),
                ev("form_error", T0 + 3 * S, field="zip", form="checkout"),
                ev("form_error", T0 + 4 * S, field="email", form="checkout"),
            ]
        ],
        T0 + 5 * S,
        {"form_errors": 4, "repeated_field_errors": 2},
    ),
    (
        "u-turn: back to the previous path within 7 s",
        [[page(T0, "/a"), page(T0 + 10 * S, "/b"), page(T0 + 16 * S, "/a")]],
        T0 + 20 * S,
        {"u_turns": 1, "seconds_since_u_turn": 4},
    ),
    (
        "not a u-turn after 8 s on the other page",
        [[page(T0, "/a"), page(T0 + 10 * S, "/b"), page(T0 + 18 * S, "/a")]],
        T0 + 20 * S,
        {"u_turns": 0, "seconds_since_u_turn": NO_U_TURN_S},
    ),
    (
        "not a u-turn when moving on",
        [[page(T0, "/a"), page(T0 + 10 * S, "/b"), page(T0 + 12 * S, "/c")]],
        T0 + 20 * S,
        {"u_turns": 0},
    ),
    (
        "two u-turns in a row",
        [
            [
                page(T0, "/a"),
                page(T0 + 5 * S, "/b"),
                page(T0 + 7 * S, "/a"),
                page(T0 + 9 * S, "/b"),
                page(T0 + 11 * S, "/a"),
            ]
        ],
        T0 + 12 * S,
        {"u_turns": 3},
    ),
    (
        "u-turn found when the middle view arrives last",
        [[page(T0, "/a"), page(T0 + 6 * S, "/a")], [page(T0 + 2 * S, "/b")]],
        T0 + 7 * S,
        {"u_turns": 1},
    ),
    (
        "scroll reversals add up, depth is the deepest",
        [
            [
                page(T0, "/"),
                ev("scroll", T0 + S, depth=0.4, reversals=2),
                ev("scroll", T0 + 2 * S, depth=0.9, reversals=1),
                ev("scroll", T0 + 3 * S, depth=0.5, reversals=0),
            ]
        ],
        T0 + 4 * S,
        {"scroll_reversals": 3, "max_scroll_depth": 0.9},
    ),
    (
        "longest idle",
        [
            [
                page(T0, "/"),
                ev("idle", T0 + S, ms=12_000),
                ev("idle", T0 + 2 * S, ms=45_000),
                ev("idle", T0 + 3 * S, ms=3_000),
            ]
        ],
        T0 + 4 * S,
        {"longest_idle_s": 45},
    ),
    (
        "zero-result searches",
        [
            [
                page(T0, "/search"),
                ev("search", T0 + S, results=0),
                ev("search", T0 + 2 * S, results=7),
                ev("search", T0 + 3 * S, results=0),
            ]
        ],
        T0 + 4 * S,
        {"searches": 3, "zero_result_searches": 2, "unresolved_search": 1},
    ),
    (
        "an empty search put right by the next one is no struggle",
        [
            [
                page(T0, "/"),
                ev("dead_click", T0 + S),
                ev("search", T0 + 2 * S, results=0),
                ev("search", T0 + 5 * S, results=12),
            ]
        ],
        T0 + 6 * S,
        {
            "searches": 2,
            "zero_result_searches": 0,
            "recent_zero_result_searches": 0,
            "unresolved_search": 0,
            "struggle_kinds": 1,
        },
    ),
    (
        "kinds of struggle within the minute count as breadth",
        [
            [
                page(T0, "/checkout"),
                ev("form_error", T0 + S, field="zip", form="checkout"),
                ev("rage_click", T0 + 5 * S, count=4),
                page(T0 + 8 * S, "/cart"),
                page(T0 + 11 * S, "/checkout"),
                ev("js_error", T0 + 40 * S),
            ]
        ],
        T0 + 55 * S,
        {"failed_submits": 1, "rage_clicks": 1, "u_turns": 1, "js_errors": 1, "struggle_kinds": 4},
    ),
    (
        "a stray dead click and an empty search pages apart are no breadth",
        [
            [
                page(T0, "/product/kettle"),
                ev("dead_click", T0 + S),
                page(T0 + 70 * S, "/"),
                ev("search", T0 + 90 * S, results=0),
            ]
        ],
        T0 + 91 * S,
        {"dead_clicks": 1, "zero_result_searches": 1, "struggle_kinds": 1},
    ),
    (
        "a u-turn more than a minute ago is no longer a kind of struggle now",
        [[page(T0, "/a"), page(T0 + 2 * S, "/b"), page(T0 + 4 * S, "/a"), ev("rage_click", T0 + 70 * S, count=3)]],
        T0 + 71 * S,
        {"u_turns": 1, "rage_clicks": 1, "struggle_kinds": 1},
    ),
    (
        "js errors the visitor runs into: a dead click within the minute",
        [[page(T0, "/"), ev("js_error", T0 + S), ev("js_error", T0 + 2 * S), ev("dead_click", T0 + 4 * S)]],
        T0 + 5 * S,
        {"js_errors": 2, "struggle_kinds": 2},
    ),
    (
        "js errors nobody ran into are the page's, not the visitor's struggle",
        [[page(T0, "/"), ev("js_error", T0 + S), ev("form_error", T0 + 3 * S, field="zip", form="checkout")]],
        T0 + 5 * S,
        {"js_errors": 0, "recent_js_errors": 0, "failed_submits": 1, "struggle_kinds": 1},
    ),
    ("exit intent", [[page(T0, "/"), ev("exit_intent", T0 + S)]], T0 + 2 * S, {"exit_intents": 1}),
    (
        "custom events and conversions",
        [
            [
                page(T0, "/"),
                ev("custom", T0 + S, name="added_to_cart", value=9.5),
                ev("conversion", T0 + 2 * S, value=9.5),
            ]
        ],
        T0 + 3 * S,
        {"custom_events": 1, "conversions": 1},
    ),
    (
        "heartbeats",
        [[page(T0, "/"), ev("heartbeat", T0 + 15 * S, visible=True), ev("heartbeat", T0 + 30 * S, visible=False)]],
        T0 + 31 * S,
        {"heartbeats": 2, "time_on_site_s": 31},
    ),
    (
        "recent struggle weighs fully",
        [[page(T0, "/"), ev("rage_click", T0 + S, count=3)]],
        T0 + S,
        {"recent_rage_clicks": 1.0},
    ),
    (
        "struggle two minutes ago weighs half",
        [[page(T0, "/"), ev("form_error", T0, field="zip")]],
        T0 + 120 * S,
        {"recent_form_errors": 0.5, "form_errors": 1},
    ),
    (
        "struggle ten minutes ago has faded",
        [[page(T0, "/"), ev("dead_click", T0)]],
        T0 + 600 * S,
        {"recent_dead_clicks": 0.03125, "dead_clicks": 1},
    ),
    (
        "recency across an hour boundary",
        [[page(T0 - 30 * S, "/"), ev("rage_click", T0 - 30 * S, count=3)]],
        T0 + 90 * S,
        {"recent_rage_clicks": 0.5},
    ),
    (
        "zero-result searches decay too",
        [[page(T0, "/"), ev("search", T0, results=0), ev("search", T0 + 120 * S, results=0)]],
        T0 + 120 * S,
        {"recent_zero_result_searches": 1.5},
    ),
]


@pytest.mark.parametrize(("case", "batches", "now", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_extract__signal(
    case: str, batches: list[list[dict[str, Any]]], now: int, expected: dict[str, float]
) -> None:
    features = extract(*await fold(*batches), now)

    assert set(features) == set(FEATURES)
    assert {name: features[name] for name in expected} == pytest.approx(expected, abs=1e-4)


async def test_extract__retried_batch_and_out_of_order__same_as_once_in_order() -> None:
    journey = [
        page(T0, "/a"),
        ev("rage_click", T0 + S, count=3),
        page(T0 + 5 * S, "/b"),
        ev("form_error", T0 + 6 * S, field="zip"),
        page(T0 + 9 * S, "/a"),
        ev("dead_click", T0 + 10 * S),
    ]
    once = extract(*await fold(journey), T0 + 11 * S)
    messy = extract(*await fold(journey[3:], journey[:3], journey[3:], journey[1:4]), T0 + 11 * S)

    assert messy == pytest.approx(once)
    assert once["u_turns"] == 1 and once["rage_clicks"] == 1 and once["form_errors"] == 1


async def test_extract__unknown_visitor__all_zero_but_no_u_turn() -> None:
    features = extract({}, {}, T0)

    assert features["seconds_since_u_turn"] == NO_U_TURN_S
    assert all(value == 0 for name, value in features.items() if name != "seconds_since_u_turn")


async def test_describe__targeting_facts() -> None:
    session, visitor = await fold(
        [
            page(T0, "/landing?utm_source=newsletter&utm_campaign=spring", ref="https://mail.example/", vw=390),
            page(T0 + 5 * S, "/checkout"),
            ev("custom", T0 + 6 * S, name="added_to_cart"),
            ev("custom", T0 + 7 * S, name="added_to_cart"),
        ]
    )
    facts = describe(session, visitor, T0 + 8 * S)

    assert facts.path == "/checkout" and facts.device == "mobile"
    assert facts.referrer == "https://mail.example/"
    assert facts.utm == {"source": "newsletter", "campaign": "spring"}
    assert facts.custom_events == {"added_to_cart": 2}
    assert not facts.returning and not facts.opted_out
    assert facts.session_started_ms == T0


async def test_describe__opt_out_custom_event__remembered_for_the_visitor() -> None:
    session, visitor = await fold([page(T0, "/"), ev("custom", T0 + S, name="tactful.opt_out")])

    assert describe(session, visitor, T0 + 2 * S).opted_out
