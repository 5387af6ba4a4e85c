"""Sessionisation: does a batch continue the stored session, start a new one, or arrive too late?
And what starting one does. ``collect.lua`` keeps its own copy of both, for atomicity:
tests/store/test_session_rules.py holds it to these on the same inputs."""

from __future__ import annotations

from typing import Literal

from tracker.merge import Op, State, apply_all

SESSION_IDLE_MS = 30 * 60 * 1000
"""A session ends after 30 minutes without events (the tracker rotates its id on the same rule)."""

Continuity = Literal["same", "new", "stale"]


def continuity(
    stored_sid: str | None,
    stored_started_ms: int | None,
    stored_last_ms: int | None,
    batch_sid: str,
    batch_first_ms: int,
    batch_last_ms: int,
    idle_ms: int = SESSION_IDLE_MS,
) -> Continuity:
    """Mirrored in ``collect.lua``; the store contract tests hold the two to the same answers.

    - no stored session: ``new``;
    - another session id whose events all predate the stored session: ``stale``
      (a late retry from the previous session: logged, not folded into this one);
    - another session id, or the same id after more than ``idle_ms`` of silence: ``new``;
    - otherwise ``same``.
    """
    if stored_sid is None:
        return "new"
    if batch_sid != stored_sid:
        if stored_started_ms is not None and batch_last_ms < stored_started_ms:
            return "stale"
        return "new"
    if stored_last_ms is not None and batch_first_ms - stored_last_ms > idle_ms:
        return "new"
    return "same"


SESSION_START_OPS = (Op("v", "ns", "+", "1"), Op("c", "sessions", "+", "1"))
"""Starting a session counts one more session for the visitor (``ns``) and in the day's counters."""


def start_session(session_id: str, visitor: State, counters: State | None = None) -> dict[str, str]:
    """A new session's record, holding only its id until its events fold in (the dedup window
    starts afresh with it); the visitor, and the day's ``counters`` when given, count one more."""
    session = {"sid": session_id}
    apply_all(session, visitor, SESSION_START_OPS, counters)
    return session
