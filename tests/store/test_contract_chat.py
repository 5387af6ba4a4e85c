"""The chat section of the Store contract: documents, logs with ids, bounded counters, CAS, leases."""

from __future__ import annotations

import asyncio

from api.store import ChatRecords, Lifecycle


async def test_records__put_get_list_drop__round_trip(store: ChatRecords) -> None:
    await store.put_record("s1", "agent", "a1", {"name": "Ada", "skills": ["billing"]})
    await store.put_record("s1", "agent", "a2", {"name": "Bo"})
    await store.put_record("s2", "agent", "a1", {"name": "elsewhere"})
    assert await store.get_record("s1", "agent", "a1") == {"name": "Ada", "skills": ["billing"]}
    assert set(await store.list_records("s1", "agent")) == {"a1", "a2"}
    await store.drop_record("s1", "agent", "a1")
    assert await store.get_record("s1", "agent", "a1") is None
    assert await store.list_records("s1", "chat") == {}


async def test_update_record__merges_fields_into_the_stored_document(store: ChatRecords) -> None:
    await store.put_record("s1", "offline", "o1", {"message": "hi", "handled": False, "tags": [], "ts": 2**62})
    updated = await store.update_record("s1", "offline", "o1", {"handled": True, "handled_ms": 5})
    expected = {"message": "hi", "handled": True, "handled_ms": 5, "tags": [], "ts": 2**62}
    assert updated == expected
    assert await store.get_record("s1", "offline", "o1") == expected  # the rest of the document as it was
    assert await store.update_record("s1", "offline", "o1", {"handled_ms": None}) == expected | {"handled_ms": None}
    assert await store.get_record("s2", "offline", "o1") is None  # per site


async def test_update_record__a_missing_record_is_not_created(store: ChatRecords) -> None:
    assert await store.update_record("s1", "offline", "nobody", {"handled": True}) is None
    assert await store.get_record("s1", "offline", "nobody") is None
    assert await store.list_records("s1", "offline") == {}


async def test_update_record__a_deleted_record_stays_deleted(store: ChatRecords) -> None:
    await store.put_record("s1", "offline", "o1", {"message": "forget me"})
    await store.drop_record("s1", "offline", "o1")
    assert await store.update_record("s1", "offline", "o1", {"handled": True}) is None
    assert await store.get_record("s1", "offline", "o1") is None
    # Updates racing the deletion: whichever land before it, none brings the record back after it.
    await store.put_record("s1", "offline", "o2", {"message": "forget me too"})
    await asyncio.gather(
        *(store.update_record("s1", "offline", "o2", {f"f{n}": n}) for n in range(10)),
        store.drop_record("s1", "offline", "o2"),
        *(store.update_record("s1", "offline", "o2", {f"g{n}": n}) for n in range(10)),
    )
    assert await store.get_record("s1", "offline", "o2") is None
    assert await store.list_records("s1", "offline") == {}


async def test_update_record__concurrent_updates_of_other_fields__all_kept(store: ChatRecords) -> None:
    await store.put_record("s1", "chat", "c1", {"id": "c1"})
    results = await asyncio.gather(*(store.update_record("s1", "chat", "c1", {f"f{n}": n}) for n in range(20)))
    assert all(result is not None for result in results)
    assert await store.get_record("s1", "chat", "c1") == {"id": "c1"} | {f"f{n}": n for n in range(20)}


async def test_append_entry__ids_count_up__dedup_returns_first_id(store: ChatRecords) -> None:
    assert await store.append_entry("s1", "m:c1", {"text": "hi"}, dedup="c_1") == (1, False)
    assert await store.append_entry("s1", "m:c1", {"text": "again"}, dedup="c_2") == (2, False)
    assert await store.append_entry("s1", "m:c1", {"text": "hi"}, dedup="c_1") == (1, True)
    assert await store.append_entry("s1", "m:c1", {"text": "no dedup"}) == (3, False)
    entries = await store.read_entries("s1", "m:c1")
    assert [(entry_id, e["text"]) for entry_id, e in entries] == [(1, "hi"), (2, "again"), (3, "no dedup")]
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "m:c1", after=2)] == [3]
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "m:c1", after=0, limit=2)] == [1, 2]
    await store.drop_log("s1", "m:c1")
    assert await store.read_entries("s1", "m:c1") == []
    assert await store.append_entry("s1", "m:c1", {"text": "hi"}, dedup="c_1") == (1, False)


async def test_append_entry__concurrent_appends__unique_consecutive_ids(store: ChatRecords) -> None:
    await store.append_entry("s1", "warm-up", {})  # a fresh Cluster client's very first commands must not race
    results = await asyncio.gather(*(store.append_entry("s1", "log", {"n": n}, dedup=f"d{n % 10}") for n in range(40)))
    fresh = sorted(entry_id for entry_id, duplicate in results if not duplicate)
    assert fresh == list(range(1, 11))


async def test_trim_entries__trimmed_ones_gone__ids_and_reads_after_unchanged(store: ChatRecords) -> None:
    for n in range(1, 6):
        assert await store.append_entry("s1", "outbox", {"n": n}) == (n, False)
    await store.append_entry("s1", "other", {"n": "kept"})
    await store.trim_entries("s1", "outbox", 3)
    assert [(entry_id, e["n"]) for entry_id, e in await store.read_entries("s1", "outbox")] == [(4, 4), (5, 5)]
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "outbox", after=2)] == [4, 5]  # 3: trimmed
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "outbox", after=4)] == [5]
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "outbox", after=3, limit=1)] == [4]
    assert await store.read_entries("s1", "outbox", after=5) == []
    assert await store.append_entry("s1", "outbox", {"n": 6}) == (6, False)  # the next id, not the list's length
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "outbox", after=5)] == [6]
    await store.trim_entries("s1", "outbox", 6)  # everything: the log is empty and ids still go on
    assert await store.read_entries("s1", "outbox") == []
    assert await store.append_entry("s1", "outbox", {"n": 7}) == (7, False)
    assert [(entry_id, e["n"]) for entry_id, e in await store.read_entries("s1", "outbox")] == [(7, 7)]
    assert [e["n"] for _, e in await store.read_entries("s1", "other")] == ["kept"]  # another log untouched
    await store.drop_log("s1", "outbox")  # dropped: ids start again
    assert await store.append_entry("s1", "outbox", {"n": 1}) == (1, False)


async def test_trim_entries__again_or_past_the_end__idempotent(store: ChatRecords) -> None:
    await store.trim_entries("s1", "outbox", 10)  # nothing there: nothing happens
    assert await store.append_entry("s1", "outbox", {"n": 1}) == (1, False)
    for n in range(2, 5):
        await store.append_entry("s1", "outbox", {"n": n})
    await store.trim_entries("s1", "outbox", 2)
    await store.trim_entries("s1", "outbox", 2)
    await store.trim_entries("s1", "outbox", 1)  # an older trim arriving late takes nothing more
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "outbox")] == [3, 4]
    await store.trim_entries("s1", "outbox", 99)  # past the last entry: what there is
    assert await store.append_entry("s1", "outbox", {"n": 5}) == (5, False)
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "outbox")] == [5]


async def test_trim_entries__racing_trims_and_appends__each_entry_once(store: ChatRecords) -> None:
    await store.append_entry("s1", "warm-up", {})  # a fresh Cluster client's very first commands must not race
    for n in range(1, 21):
        await store.append_entry("s1", "outbox", {"n": n})
    results = await asyncio.gather(
        *(store.trim_entries("s1", "outbox", upto) for upto in (5, 10, 10, 7, 12, 3)),
        *(store.append_entry("s1", "outbox", {"n": "late"}) for _ in range(5)),
    )
    appended = sorted(result[0] for result in results if result is not None)
    assert appended == [21, 22, 23, 24, 25]
    kept = await store.read_entries("s1", "outbox")
    assert [entry_id for entry_id, _ in kept] == list(range(13, 26))  # up to the furthest trim, and never past it
    assert [e["n"] for _, e in kept[:8]] == list(range(13, 21))  # each id still names its own entry


async def test_trim_entries__a_log_never_trimmed_reads_as_before(store: ChatRecords) -> None:
    """The chat's message logs use the same primitive and are only dropped: a trim elsewhere changes nothing."""
    for n in range(1, 4):
        await store.append_entry("s1", "m:c1", {"n": n}, dedup=f"c{n}")
    await store.trim_entries("s1", "m:c2", 3)
    await store.trim_entries("s2", "m:c1", 3)
    assert [entry_id for entry_id, _ in await store.read_entries("s1", "m:c1")] == [1, 2, 3]
    assert await store.append_entry("s1", "m:c1", {"n": 1}, dedup="c1") == (1, True)


async def test_push_recent__keeps_the_newest__newest_first(store: ChatRecords) -> None:
    assert await store.read_recent("s1", "deliveries") == []
    for n in range(5):
        await store.push_recent("s1", "deliveries", {"n": n}, keep=3)
    await store.push_recent("s2", "deliveries", {"n": "elsewhere"}, keep=3)
    assert await store.read_recent("s1", "deliveries") == [{"n": 4}, {"n": 3}, {"n": 2}]
    assert await store.read_recent("s2", "deliveries") == [{"n": "elsewhere"}]


async def test_push_recent__concurrent_pushes__none_lost_within_the_bound(store: ChatRecords) -> None:
    await store.push_recent("s1", "warm-up", {}, keep=1)  # a fresh Cluster client's very first commands must not race
    await asyncio.gather(*(store.push_recent("s1", "deliveries", {"n": n}, keep=50) for n in range(30)))
    assert sorted(entry["n"] for entry in await store.read_recent("s1", "deliveries")) == list(range(30))


async def test_bounded_add__refuses_past_limit__never_below_zero(store: ChatRecords) -> None:
    assert [await store.bounded_add("s1", "load:a1", 1, 3) for _ in range(4)] == [1, 2, 3, None]
    assert await store.bounded_add("s1", "load:a1", -1, 3) == 2
    assert await store.bounded_add("s1", "load:a1", -5) == 0
    await store.put_counter("s1", "load:a1", 2)
    assert await store.bounded_add("s1", "load:a1", 0) == 2


async def test_bounded_add__racing_reservations__never_exceed_limit(store: ChatRecords) -> None:
    await store.bounded_add("s1", "warm-up", 1)  # a fresh Cluster client's very first commands must not race
    results = await asyncio.gather(*(store.bounded_add("s1", "load:a9", 1, 3) for _ in range(20)))
    assert sorted(r for r in results if r is not None) == [1, 2, 3]


async def test_compare_and_set__only_from_expected(store: ChatRecords) -> None:
    assert await store.compare_and_set("s1", "chat:c1", None, "waiting")
    assert not await store.compare_and_set("s1", "chat:c1", None, "waiting")
    assert not await store.compare_and_set("s1", "chat:c1", "offered:a1", "active:a1")
    assert await store.compare_and_set("s1", "chat:c1", "waiting", "offered:a1")
    assert await store.get_value("s1", "chat:c1") == "offered:a1"
    assert await store.compare_and_set("s1", "chat:c1", "offered:a1", None)
    assert await store.get_value("s1", "chat:c1") is None


async def test_claim__one_holder_until_expiry(store: ChatRecords) -> None:
    assert await store.claim("s1", "webhooks", "w1", 200, now_ms=1_000)
    assert not await store.claim("s1", "webhooks", "w2", 200, now_ms=1_050)
    assert await store.claim("s1", "webhooks", "w1", 200, now_ms=1_100)  # renewed by its holder
    await asyncio.sleep(0.25)
    assert await store.claim("s1", "webhooks", "w2", 200, now_ms=1_400)


async def test_claim__the_callers_clock_ends_a_lease(store: ChatRecords) -> None:
    """Both adapters go by ``now_ms``: a lease has ended when the caller's clock says so."""
    assert await store.claim("s1", "owner:c1", "w1", 60_000, now_ms=1_000)
    assert not await store.claim("s1", "owner:c1", "w2", 60_000, now_ms=60_999)
    assert await store.claim("s1", "owner:c1", "w2", 60_000, now_ms=61_001)  # not a minute later by the wall clock
    assert not await store.claim("s1", "owner:c1", "w1", 60_000, now_ms=61_002)


async def test_chat_bus__published_event__reaches_a_subscriber(store: Lifecycle) -> None:
    bus = store.chat_bus()
    await bus.start()
    try:
        subscription = bus.subscribe()
        subscription.follow("chat:c1")
        await bus.publish("chat:c2", {"seq": 1})  # a channel nobody follows here
        await bus.publish("chat:c1", {"seq": 2})
        assert await asyncio.wait_for(subscription.get(), 5.0) == ("chat:c1", {"seq": 2})
    finally:
        await bus.close()
