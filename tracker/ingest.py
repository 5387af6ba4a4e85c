"""Preparing a validated batch for a store: clock correction, fingerprints, ops, log records. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec

from tracker import protocol as p
from tracker.events import SPAN_OPS, attempt_sizes, batch_ops
from tracker.identity import log_record
from tracker.merge import Op, combine

FINGERPRINT_BYTES = 4
DEDUP_WINDOW = 64
"""Fingerprints kept per session: a whole retried batch is recognised by its own fingerprint, and a
single event while it is among the session's last 64 fingerprints."""

_encode = msgspec.json.encode
_COUNT_OPS = {kind: Op("c", f"e.{kind.__struct_config__.tag}", "+", "1") for kind in p.Event.__args__}
"""Each event also counts in the shard's daily counters (``e.<type>``)."""


# Not frozen: these are built for every event of every collect, and a frozen dataclass's __init__
# (one object.__setattr__ per field) costs about seven times a plain slotted one's. Treat them as values.
@dataclass(slots=True)
class PreparedEvent:
    event: p.Event
    ts: int  # server-corrected
    fingerprint: bytes
    ops: tuple[Op, ...]
    record: bytes  # the event as JSON with the corrected ts, for the event log


@dataclass(slots=True)
class PreparedBatch:
    site: str
    visitor: str
    session: str
    received_ms: int
    skew_ms: int
    events: tuple[PreparedEvent, ...]
    fingerprint: bytes
    """Of the whole batch: a retry of any size is one lookup."""
    span_ops: tuple[Op, ...]
    """Time-span templates (``tracker.events.SPAN_OPS``), filled from the fresh events by the store."""
    ops: list[Op]
    """Every event's ops, folded (``tracker.merge.combine``): what a store applies when no event of the
    batch is a duplicate, the usual case. With duplicates it applies the fresh events' own ops."""

    @property
    def first_ms(self) -> int:
        return min(e.ts for e in self.events)

    @property
    def last_ms(self) -> int:
        return max(e.ts for e in self.events)


def session_hasher(session: str) -> Any:
    """The keyed hash that event fingerprints start from, one per batch (keying costs more than hashing)."""
    return hashlib.blake2b(digest_size=FINGERPRINT_BYTES, key=session.encode()[:64])


def fingerprint(hasher: Any, event: p.Event) -> bytes:
    """Identity of an event as the browser sent it: the same bytes on every retry of its batch.

    Built from the browser's own timestamp, not the corrected one, because a retry
    carries a new ``sent_at`` and so a different correction. ``hasher``: ``session_hasher``.
    """
    hashed = hasher.copy()
    hashed.update(_encode(event))
    return bytes(hashed.digest())


def prepare(batch: p.Batch, received_ms: int) -> PreparedBatch:
    """``received_ms`` is the server clock; the browser's clock is corrected by ``received_ms - sent_at``."""
    skew = received_ms - batch.sent_at
    prepared = []
    hasher = session_hasher(batch.session)
    sizes = attempt_sizes(batch.events)
    for event in batch.events:
        ts = event.ts + skew
        ops = (*batch_ops(event, ts, sizes), _COUNT_OPS[type(event)])
        # Who the visitor is stays out of the log (tracker/identity.py).
        record = log_record(ts) if type(event) is p.Identify else _encode(msgspec.structs.replace(event, ts=ts))
        prepared.append(PreparedEvent(event, ts, fingerprint(hasher, event), ops, record))
    whole = hashlib.blake2b(b"".join(e.fingerprint for e in prepared), digest_size=FINGERPRINT_BYTES).digest()
    return PreparedBatch(
        batch.site,
        batch.visitor,
        batch.session,
        received_ms,
        skew,
        tuple(prepared),
        whole,
        SPAN_OPS,
        combine(op for event in prepared for op in event.ops),
    )
