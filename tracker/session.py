"""Sessionisation: does a batch continue the stored session, start a new one, or arrive too late?"""

from __future__ import annotations

from typing import Literal

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
