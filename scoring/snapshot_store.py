"""Where decision snapshots wait for their outcome: a small protocol and a bounded memory store.

The protocol is three calls so that a Redis-backed store (a hash or a JSON
string per invite, ``EXPIRE`` for the TTL) can implement it without
scanning; ``DecisionSnapshot.as_dict`` / ``from_dict`` are its wire form.
Snapshots are frozen: every change is a ``put``, so the memory store cannot
hide a missing write that a remote store would expose.
"""

from __future__ import annotations

import sys
from array import array
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class DecisionSnapshot:
    """What the model saw and said when it decided to invite, plus the labelling state."""

    invite: str
    features: Mapping[str, float]
    model_version: int
    score: float
    decided_ms: int
    propensity: float = 1.0
    shown_ms: int | None = None
    learned_label: bool | None = None
    learned_weight: float = 0.0
    final: bool = False
    """An explicit outcome was learned; only a verdict can still change the label."""
    closed: bool = False
    """A verdict was learned; nothing more will be."""
    explored: bool = False
    """Invited below the threshold, by the exploration group. A holdout makes every propensity < 1
    (nobody in it is invited), so the propensity alone does not say whether a decision explored."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"features": dict(self.features)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionSnapshot:
        return cls(**data)


_ROW_FIELDS = tuple(name for name in DecisionSnapshot.__dataclass_fields__ if name != "features")
_Packed = tuple[tuple[Any, ...], tuple[str, ...], bytes]


def _pack(snapshot: DecisionSnapshot) -> _Packed:
    """A snapshot as plain values: its fields, its feature names (interned, so that pickle writes each
    name once for a whole store) and their values as one string of doubles."""
    features = snapshot.features
    return (
        tuple(getattr(snapshot, name) for name in _ROW_FIELDS),
        tuple(sys.intern(name) for name in features),
        array("d", features.values()).tobytes(),
    )


class SnapshotStore(Protocol):
    def get(self, invite: str) -> DecisionSnapshot | None: ...

    def put(self, snapshot: DecisionSnapshot, ttl_s: float) -> None:
        """Store or replace ``snapshot`` under its invite id for ``ttl_s`` seconds."""
        ...

    def delete(self, invite: str) -> None: ...


class MemorySnapshotStore:
    """In-process ``SnapshotStore``: TTL per entry and at most ``max_items`` entries (oldest go first).
    ``clock`` (seconds, e.g. ``time.monotonic``) is the one the TTLs run on."""

    def __init__(self, clock: Callable[[], float], max_items: int = 50_000) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        self.max_items = max_items
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, DecisionSnapshot, _Packed]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, invite: str) -> DecisionSnapshot | None:
        entry = self._entries.get(invite)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[invite]
            return None
        return entry[1]

    def put(self, snapshot: DecisionSnapshot, ttl_s: float) -> None:
        now = self._clock()
        self._entries[snapshot.invite] = (now + ttl_s, snapshot, _pack(snapshot))
        self._entries.move_to_end(snapshot.invite)
        self._evict(now)

    def delete(self, invite: str) -> None:
        self._entries.pop(invite, None)

    def __getstate__(self) -> dict[str, Any]:
        """The learner pickles this store with its state on every commit, every few seconds while labels
        arrive. Each snapshot is packed once, when it is put (``_pack``), so a commit writes a list of
        ready tuples: pickled as dataclasses with a dict of features each, a store of a few thousand
        snapshots took tens of milliseconds per commit."""
        rows = [(expires, packed) for expires, _, packed in self._entries.values()]
        return {"max_items": self.max_items, "clock": self._clock, "rows": rows}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._entries = OrderedDict()
        if "rows" not in state:  # pickled before the packed form: its attributes, (expires, snapshot) per invite
            self.max_items, self._clock = state["max_items"], state["_clock"]
            for invite, (expires, snapshot) in state["_entries"].items():
                self._entries[invite] = (expires, snapshot, _pack(snapshot))
            return
        self.max_items, self._clock = state["max_items"], state["clock"]
        for expires, packed in state["rows"]:
            fields, keys, values = packed
            features = dict(zip(keys, array("d", values), strict=True))
            snapshot = DecisionSnapshot(**dict(zip(_ROW_FIELDS, fields, strict=True)), features=features)
            self._entries[snapshot.invite] = (expires, snapshot, packed)

    def _evict(self, now: float) -> None:
        # Entries are in write order, not expiry order; expired ones in front go now,
        # the rest are caught by get() or by the size bound.
        while self._entries:
            invite, (expires, _, _) = next(iter(self._entries.items()))
            if expires > now and len(self._entries) <= self.max_items:
                break
            del self._entries[invite]
