"""Who the visitor is, when the site says so (``identify`` events): one field of the visitor record. Pure.

Only the site's own ``tactful('identify', {name, email})`` sets it; nothing is read from forms. It is kept
as ``who`` = ``ts|{"name": ..., "email": ...}`` (``ts|`` once forgotten) with the latest-by-time merge, so
the newest call wins in any arrival order, and it goes with the visitor record (its TTL, its deletion).
The event log keeps only that an identify happened, never the name or the address.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from tracker import protocol as p
from tracker.merge import Op

FIELD = "who"
"""The visitor record's field. At most ``PERSON_NAME_MAX`` + ``EMAIL_MAX`` characters and a timestamp."""

_encode = msgspec.json.encode


def identify_ops(event: p.Identify, ts: int) -> tuple[Op, ...]:
    """The site's latest word on who the visitor is, replacing the one before it (a reset forgets)."""
    person = {
        key: value.strip()  # a pattern's ``$`` lets one trailing newline through
        for key, value in (("name", event.name), ("email", event.email))
        if value is not None and value.strip()
    }
    if not person:
        return forget_ops(ts)
    return (Op("v", FIELD, "=", f"{ts}|{_encode(person).decode()}"),)


def forget_ops(ts: int) -> tuple[Op, ...]:
    """Nobody known as of ``ts`` (an opt-out): what ``identify(null)`` does, in the same latest-by-time field."""
    return (Op("v", FIELD, "=", f"{ts}|"),)


def log_record(ts: int) -> bytes:
    """What the event log keeps of an identify: its time only. The name and address live in the visitor
    record alone, which per-visitor deletion removes."""
    return _encode(p.Identify(ts=ts))


def identity_of(visitor: Mapping[str, str]) -> dict[str, str] | None:
    """``{"name"?, "email"?}`` as the site last said, or None (never said, or forgotten)."""
    stored = visitor.get(FIELD)
    if not stored:
        return None
    _, _, person = stored.partition("|")
    if not person:
        return None
    try:
        decoded = msgspec.json.decode(person)
    except msgspec.DecodeError:
        return None
    if not isinstance(decoded, dict):
        return None
    found = {key: str(decoded[key]) for key in ("name", "email") if isinstance(decoded.get(key), str)}
    return found or None
