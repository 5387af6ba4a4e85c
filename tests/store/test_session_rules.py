"""The session rules as collect.lua applies them, held to tracker/session.py's on the same inputs.

The Lua script keeps its own copy of ``continuity`` and ``start_session`` so that a collect stays one
atomic call; here every adapter (the memory store uses the Python rules themselves) meets the Python
answer for the same stored session and batch, at and around each boundary.
"""

from __future__ import annotations

import pytest

from api.store import VisitorLog
from tests.factories import T0, ev, page, prepared
from tracker.days import day_of
from tracker.session import SESSION_IDLE_MS, continuity, start_session

SEEN = "s_seeded001"
OTHER = "s_another01"
START, LAST = T0, T0 + 60_000
"""The stored session: its first and last events."""

CASES = {
    "same session, a minute later": (SEEN, LAST + 60_000, LAST + 61_000),
    "same session, exactly idle later": (SEEN, LAST + SESSION_IDLE_MS, LAST + SESSION_IDLE_MS + 1_000),
    "same session, idle and 1 ms later": (SEEN, LAST + SESSION_IDLE_MS + 1, LAST + SESSION_IDLE_MS + 1_000),
    "another session, later": (OTHER, LAST + 1_000, LAST + 2_000),
    "another session, ending as the stored one started": (OTHER, START - 1_000, START),
    "another session, ending before the stored one started": (OTHER, START - 1_000, START - 1),
}
"""(the batch's session, its first event, its last event)"""


@pytest.mark.parametrize(("session", "first", "at"), CASES.values(), ids=CASES.keys())
async def test_session_rules__adapter__as_tracker_session_says(
    store: VisitorLog, session: str, first: int, at: int
) -> None:
    await store.ingest(prepared([page(START, "/"), ev("click", LAST, x=1, y=1)], session=SEEN))
    stored, visitor = await store.load_visitor("demo", "v_visitor01")
    sessions_before = (await store.counters("demo", day_of(at))).get("sessions", 0)
    batch = prepared([page(first, "/next"), ev("click", at, x=2, y=2)], session=session, received_ms=at)

    expected = continuity(stored.get("sid"), int(stored["st"]), int(stored["ls"]), session, first, at)
    result = await store.ingest(batch)

    assert (result.new_session, result.stale) == (expected == "new", expected == "stale")
    if expected == "new":
        started_visitor = dict(visitor)
        counters = {"sessions": str(sessions_before)}
        started = start_session(session, started_visitor, counters)
        assert result.session["sid"] == started["sid"] and result.session["pv"] == "1"  # nothing carried over
        assert result.visitor["ns"] == started_visitor["ns"]
        assert (await store.counters("demo", day_of(at)))["sessions"] == int(counters["sessions"])
    else:
        assert result.session["sid"] == SEEN and result.visitor["ns"] == visitor["ns"]
        assert result.session["pv"] == ("2" if expected == "same" else "1")


async def test_session_rules__first_batch__a_new_session_as_start_session_makes(store: VisitorLog) -> None:
    result = await store.ingest(prepared([page(T0, "/")], session=SEEN))
    visitor: dict[str, str] = {}
    counters: dict[str, str] = {}

    started = start_session(SEEN, visitor, counters)

    assert continuity(None, None, None, SEEN, T0, T0) == "new" and result.new_session
    assert result.session["sid"] == started["sid"] and result.visitor["ns"] == visitor["ns"] == "1"
    assert (await store.counters("demo", day_of(T0)))["sessions"] == int(counters["sessions"]) == 1
