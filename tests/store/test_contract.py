"""The Store contract: every test runs on MemoryStore and on RedisStore against a real Redis."""

from __future__ import annotations

import random
from typing import Any

import pytest

from api.store import MemoryStore, RedisStore, SiteConfigs, VisitorLog
from tests.factories import T0, ev, page, prepared
from tracker.days import day_of
from tracker.features import extract
from tracker.session import SESSION_IDLE_MS

STRUGGLE = [
    page(T0, "/checkout"),
    ev("rage_click", T0 + 1000, count=4, sel="button.pay"),
    ev("form_error", T0 + 2000, field="postcode", form="checkout"),
    ev("form_error", T0 + 3000, field="postcode", form="checkout"),
    ev("dead_click", T0 + 4000, sel="span.help"),
]


async def test_ingest__new_visitor__starts_a_session_and_folds_every_event(store: VisitorLog) -> None:
    result = await store.ingest(prepared(STRUGGLE))

    assert result.new_session and not result.stale
    assert result.fresh == (0, 1, 2, 3, 4) and result.duplicates == 0
    features = extract(result.session, result.visitor, T0 + 5000)
    assert features["rage_clicks"] == 1 and features["form_errors"] == 2 and features["dead_clicks"] == 1
    assert features["repeated_field_errors"] == 1
    assert features["sessions"] == 1 and features["returning_visitor"] == 0


async def test_ingest__same_batch_retried__counted_once(store: VisitorLog) -> None:
    first = await store.ingest(prepared(STRUGGLE))
    retry = await store.ingest(prepared(STRUGGLE, received_ms=T0 + 60_000))  # a later sent_at, same events

    assert retry.fresh == () and retry.duplicates == len(STRUGGLE)
    assert not retry.new_session
    assert extract(retry.session, retry.visitor, T0) == extract(first.session, first.visitor, T0)


async def test_ingest__retry_overlapping_new_events__only_new_ones_count(store: VisitorLog) -> None:
    await store.ingest(prepared(STRUGGLE[:3]))
    result = await store.ingest(prepared(STRUGGLE[1:]))

    assert result.fresh == (2, 3) and result.duplicates == 2
    features = extract(result.session, result.visitor, T0 + 5000)
    assert (features["rage_clicks"], features["form_errors"], features["dead_clicks"]) == (1, 2, 1)


async def test_ingest__partly_retried_batch__only_the_fresh_events_fold_count_and_log(store: VisitorLog) -> None:
    """The per-event path: a batch with a duplicate applies and logs its fresh events one by one."""
    first = [page(T0, "/checkout"), ev("rage_click", T0 + 1000, count=4)]
    await store.ingest(prepared(first, sent_at=T0 + 1000, received_ms=T0 + 1000))
    twice = ev("form_error", T0 + 2000, field="postcode", form="checkout")
    again = prepared(
        [*first, twice, twice, ev("scroll", T0 + 3000, depth=0.8, reversals=2)],
        sent_at=T0 + 3000,
        received_ms=T0 + 3000,
    )

    result = await store.ingest(again)

    assert result.fresh == (2, 4) and result.duplicates == 3
    features = extract(result.session, result.visitor, T0 + 3000)
    assert (features["pages_viewed"], features["rage_clicks"], features["form_errors"]) == (1, 1, 1)
    assert features["scroll_reversals"] == 2 and features["max_scroll_depth"] == 0.8
    assert features["time_on_site_s"] == 3.0
    counts = await store.counters("demo", day_of(T0))
    assert (counts["e.page_view"], counts["e.form_error"], counts["e.scroll"]) == (1, 1, 1)
    log = await store.read_log("demo")
    assert [[e["t"] for e in entry.events] for entry in log] == [["page_view", "rage_click"], ["form_error", "scroll"]]


async def test_ingest__batches_out_of_order__same_state_as_in_order(store: VisitorLog) -> None:
    journey = [
        page(T0, "/"),
        page(T0 + 3000, "/products/1"),
        page(T0 + 5000, "/"),
        ev("rage_click", T0 + 6000, count=3),
        ev("scroll", T0 + 7000, depth=0.6, reversals=2),
        page(T0 + 30_000, "/cart"),
        ev("idle", T0 + 40_000, ms=9000),
    ]
    in_order: dict[str, Any] = {"visitor": "v_inorder01"}
    shuffled: dict[str, Any] = {"visitor": "v_shuffle01"}
    for i in range(0, len(journey), 2):
        await store.ingest(prepared(journey[i : i + 2], **in_order))
    for i in reversed(range(0, len(journey), 2)):
        await store.ingest(prepared(journey[i : i + 2], **shuffled))

    now = T0 + 50_000
    a = extract(*await store.load_visitor("demo", "v_inorder01"), now)
    b = extract(*await store.load_visitor("demo", "v_shuffle01"), now)
    assert a == pytest.approx(b)
    assert a["u_turns"] == 1 and a["pages_viewed"] == 4 and a["distinct_paths"] == 3


async def test_ingest__thirty_minutes_idle__new_session_and_returning(store: VisitorLog) -> None:
    await store.ingest(prepared(STRUGGLE))
    later = T0 + 4000 + SESSION_IDLE_MS + 1
    result = await store.ingest(prepared([page(later, "/")], received_ms=later))

    assert result.new_session
    features = extract(result.session, result.visitor, later)
    assert features["rage_clicks"] == 0 and features["pages_viewed"] == 1
    assert features["sessions"] == 2 and features["returning_visitor"] == 1


async def test_ingest__just_under_idle_limit__same_session(store: VisitorLog) -> None:
    await store.ingest(prepared(STRUGGLE))
    later = T0 + 4000 + SESSION_IDLE_MS
    result = await store.ingest(prepared([page(later, "/")], received_ms=later))

    assert not result.new_session
    assert extract(result.session, result.visitor, later)["rage_clicks"] == 1


async def test_ingest__new_session_id__rolls_over(store: VisitorLog) -> None:
    await store.ingest(prepared(STRUGGLE))
    result = await store.ingest(prepared([page(T0 + 9000, "/")], session="s_session02"))

    assert result.new_session and result.session["sid"] == "s_session02"
    assert extract(result.session, result.visitor, T0 + 9000)["form_errors"] == 0


async def test_ingest__late_batch_of_previous_session__logged_not_folded(store: VisitorLog) -> None:
    await store.ingest(prepared([page(T0 + 60_000, "/")], session="s_session02"))
    late = await store.ingest(prepared([ev("rage_click", T0 + 1000, count=5)], session="s_session01"))

    assert late.stale and late.fresh == ()
    assert extract(late.session, late.visitor, T0 + 61_000)["rage_clicks"] == 0
    log = await store.read_log("demo")
    assert [entry.session for entry in log] == ["s_session02", "s_session01"]


async def test_read_log__entries_hold_corrected_times_once(store: VisitorLog) -> None:
    skewed = prepared(
        [page(T0, "/a"), ev("click", T0 + 10, x=1, y=2)], sent_at=T0 + 100, received_ms=T0 + 5100
    )  # the browser clock is 5 s behind
    await store.ingest(skewed)
    await store.ingest(skewed)

    log = await store.read_log("demo")
    assert len(log) == 1
    assert [e["ts"] for e in log[0].events] == [T0 + 5000, T0 + 5010]
    assert log[0].events[0] == {"t": "page_view", "path": "/a", "ts": T0 + 5000}
    assert log[0].visitor == "v_visitor01" and log[0].received_ms == T0 + 5100


async def test_read_log__time_window_across_visitors(store: VisitorLog) -> None:
    for i in range(6):
        at = T0 + i * 1000
        await store.ingest(prepared([page(at, "/")], visitor=f"v_window{i:02d}", received_ms=at))
    entries = await store.read_log("demo", start_ms=T0 + 2000, end_ms=T0 + 4000)
    # Redis stamps stream entries with its own clock, so windows are by arrival: compare visitors.
    visitors = {entry.visitor for entry in await store.read_log("demo")}
    assert visitors == {f"v_window{i:02d}" for i in range(6)}
    assert len(entries) <= 6


async def test_counters__events_by_type_and_sessions(store: VisitorLog) -> None:
    await store.ingest(prepared(STRUGGLE))
    await store.ingest(prepared(STRUGGLE))  # duplicates do not count
    await store.ingest(prepared([page(T0 + 5000, "/")], visitor="v_visitor02"))

    counts = await store.counters("demo", day_of(T0))
    assert counts["sessions"] == 2
    assert counts["e.page_view"] == 2 and counts["e.form_error"] == 2 and counts["e.rage_click"] == 1


async def test_forget_visitor__state_is_gone(store: VisitorLog) -> None:
    await store.ingest(prepared(STRUGGLE))
    await store.forget_visitor("demo", "v_visitor01")

    assert await store.load_visitor("demo", "v_visitor01") == ({}, {})


async def test_site_config__put_get_list(store: SiteConfigs) -> None:
    await store.put_site_config("shop", {"site": "shop", "allowed_origins": ["https://shop.example"]})

    assert await store.get_site_config("shop") == {"site": "shop", "allowed_origins": ["https://shop.example"]}
    assert await store.get_site_config("nope") is None
    assert "shop" in await store.list_sites()


async def test_ingest__invite_outcomes_and_custom_events__visitor_history(store: VisitorLog) -> None:
    result = await store.ingest(
        prepared(
            [
                page(T0, "/"),
                ev("invite_shown", T0 + 1000, invite="i_invite001"),
                ev("invite_dismissed", T0 + 2000, invite="i_invite001"),
                ev("custom", T0 + 3000, name="added_to_cart", value=12.5),
                ev("conversion", T0 + 4000, value=12.5),
            ]
        )
    )
    from tracker.features import describe

    facts = describe(result.session, result.visitor, T0 + 5000)
    assert facts.invites_shown_session == 1 and facts.invites_dismissed_session == 1
    assert facts.invites_shown_today == 1
    assert facts.last_dismissed_ms == T0 + 2000
    assert facts.custom_events == {"added_to_cart": 1}
    assert extract(result.session, result.visitor, T0 + 5000)["conversions"] == 1


def _random_journey(seed: int, count: int = 120) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    kinds = [
        lambda t: page(t, rng.choice(["/", "/a", "/b", "/c?utm_source=mail"]), vw=rng.choice([375, 1280])),
        lambda t: ev("click", t, x=rng.randint(0, 900), y=rng.randint(0, 900)),
        lambda t: ev("rage_click", t, count=rng.randint(3, 8)),
        lambda t: ev("dead_click", t),
        lambda t: ev("form_error", t, field=rng.choice(["email", "zip", "card"])),
        lambda t: ev("search", t, results=rng.choice([0, 3])),
        lambda t: ev("js_error", t),
        lambda t: ev("scroll", t, depth=round(rng.random(), 2), reversals=rng.randint(0, 3)),
        lambda t: ev("idle", t, ms=rng.randint(0, 60_000)),
        lambda t: ev("custom", t, name=rng.choice(["x", "y"])),
    ]
    return [rng.choice(kinds)(T0 + i * 700) for i in range(count)]


async def test_ingest__batches_overtaken_and_retried__identical_features(store: VisitorLog) -> None:
    """What the network does: a batch overtaken by the next one, and a retry of one already stored."""
    events = _random_journey(7)
    batches = [events[i : i + 5] for i in range(0, len(events), 5)]
    overtaken = list(range(len(batches)))
    for i in range(0, len(overtaken) - 1, 2):
        overtaken[i], overtaken[i + 1] = overtaken[i + 1], overtaken[i]
    seen = []
    for n, order in enumerate([list(range(len(batches))), overtaken]):
        visitor = f"v_order{n:04d}"
        for i in order:
            await store.ingest(prepared(batches[i], visitor=visitor))
        await store.ingest(prepared(batches[3], visitor=visitor))
        seen.append(extract(*await store.load_visitor("demo", visitor), T0 + 90_000))
    assert seen[0] == pytest.approx(seen[1])
    assert seen[0]["pages_viewed"] == sum(1 for e in events if e["t"] == "page_view")
    assert seen[0]["form_errors"] == sum(1 for e in events if e["t"] == "form_error")


@pytest.mark.redis
async def test_stores__any_arrival_order__memory_and_redis_agree(redis_store: RedisStore) -> None:
    """The Lua twin folds exactly like the Python reference, whatever the order."""
    memory = MemoryStore()
    rng = random.Random(11)
    for seed in range(4):
        events = _random_journey(seed)
        batches = [events[i : i + 10] for i in range(0, len(events), 10)]
        visitor = f"v_agree{seed:04d}"
        for i in [*rng.sample(range(len(batches)), len(batches)), 0, 5]:
            for target in (memory, redis_store):
                await target.ingest(prepared(batches[i], visitor=visitor))
        in_memory = extract(*await memory.load_visitor("demo", visitor), T0 + 90_000)
        in_redis = extract(*await redis_store.load_visitor("demo", visitor), T0 + 90_000)
        assert in_memory == pytest.approx(in_redis)
