"""Store contract, decision side: ops without events, expiring tables, the label stream, models."""

from __future__ import annotations

from api.store import ExpiringTables, ModelRegistry, Store, VisitorLog
from tests.factories import T0, page, prepared
from tracker.days import day_of
from tracker.features import describe
from tracker.merge import Op


async def test_apply_ops__current_session__session_and_visitor_change(store: VisitorLog) -> None:
    await store.ingest(prepared([page(T0, "/")]))

    applied = await store.apply_ops(
        "demo", "v_visitor01", "s_session01", [Op("s", "io", "+", "1"), Op("v", "li", ">", str(T0 + 5))]
    )

    session, visitor = await store.load_visitor("demo", "v_visitor01")
    assert applied and session["io"] == "1" and visitor["li"] == str(T0 + 5)
    assert describe(session, visitor, T0 + 10).last_invite_ms == T0 + 5


async def test_apply_ops__session_already_replaced__only_visitor_changes(store: VisitorLog) -> None:
    await store.ingest(prepared([page(T0, "/")], session="s_session02"))

    applied = await store.apply_ops(
        "demo", "v_visitor01", "s_session01", [Op("s", "io", "+", "1"), Op("v", "li", ">", str(T0))]
    )

    session, visitor = await store.load_visitor("demo", "v_visitor01")
    assert not applied and "io" not in session and visitor["li"] == str(T0)


async def test_apply_ops__visitor_deleted__nothing_written_back(store: VisitorLog) -> None:
    """A decision's (or a chat's) ops landing after the visitor's deletion: their record stays gone."""
    await store.ingest(prepared([page(T0, "/")]))
    await store.forget_visitor("demo", "v_visitor01")

    applied = await store.apply_ops(
        "demo", "v_visitor01", "s_session01", [Op("s", "ch", "=", f"{T0}|0"), Op("v", "li", ">", str(T0))]
    )

    assert not applied
    assert await store.load_visitor("demo", "v_visitor01") == ({}, {})


async def test_add_counters__summed_with_event_counters(store: VisitorLog) -> None:
    await store.ingest(prepared([page(T0, "/")]))
    await store.add_counters("demo", day_of(T0), {"d.too_early": 2, "invites": 1})
    await store.add_counters("demo", day_of(T0), {"d.too_early": 1})

    counts = await store.counters("demo", day_of(T0))
    assert counts["d.too_early"] == 3 and counts["invites"] == 1 and counts["e.page_view"] == 1


async def test_expiring_tables__members_expire_and_drop(store: ExpiringTables) -> None:
    await store.put_expiring("demo", "agents", "ann", {"max_chats": 3}, expires_ms=T0 + 1000)
    await store.put_expiring("demo", "agents", "bob", {"max_chats": 1}, expires_ms=T0 + 5000)
    await store.put_expiring("demo", "pool", "ann", {"score": 0.9}, expires_ms=T0 + 5000)

    assert await store.read_expiring("demo", "agents", T0) == {"ann": {"max_chats": 3}, "bob": {"max_chats": 1}}
    assert await store.read_expiring("demo", "agents", T0 + 1000) == {"bob": {"max_chats": 1}}
    await store.drop_expiring("demo", "agents", "bob")
    assert await store.read_expiring("demo", "agents", T0) == {}
    assert await store.read_expiring("demo", "pool", T0) == {"ann": {"score": 0.9}}
    assert await store.read_expiring("other", "pool", T0) == {}


async def test_labels__read_once_then_redelivered_until_committed(store: Store) -> None:
    await store.append_labels("demo", [{"k": "decision", "invite": "i_1"}, {"k": "shown", "invite": "i_1"}])

    first = await store.read_labels("demo", count=10, block_ms=10)
    assert [record for _, record in first] == [{"k": "decision", "invite": "i_1"}, {"k": "shown", "invite": "i_1"}]
    assert await store.read_labels("demo", count=10, block_ms=10) == []
    # a learner that restarts before committing gets them again
    assert [r for _, r in await store.read_labels("demo", count=10, block_ms=0, pending=True)] == [
        record for _, record in first
    ]

    await store.commit_learning("demo", b"model-1", b"state-1", 7, {"auc": 0.8}, [first[0][0], first[1][0]])

    assert await store.read_labels("demo", count=10, block_ms=0, pending=True) == []
    await store.append_labels("demo", [{"k": "accepted", "invite": "i_1"}])
    fresh = await store.read_labels("demo", count=10, block_ms=10)
    assert [record for _, record in fresh] == [{"k": "accepted", "invite": "i_1"}]


async def test_models__commit_then_read_version_model_quality_state(store: ModelRegistry) -> None:
    assert await store.model_version("demo") is None and await store.get_model("demo") is None

    await store.commit_learning("demo", b"\x00model", b"\x01state", 3, {"roc_auc": 0.75}, [])

    assert await store.model_version("demo") == 3
    assert await store.get_model("demo") == (3, b"\x00model", {"roc_auc": 0.75})
    assert await store.learner_state("demo") == b"\x01state"
