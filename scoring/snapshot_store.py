"""Where decision snapshots wait for their outcome: a small protocol and a bounded memory store.

The protocol is three calls so that a Redis-backed store (a hash or a JSON
string per invite, ``EXPIRE`` for the TTL) can implement it without
scanning; ``DecisionSnapshot.as_dict`` / ``from_dict`` are its wire form.
Snapshots are frozen: every change is a ``put``, so the memory store cannot
hide a missing write that a remote store would expose.
"""

from __future__ import annotations

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
        self._entries: OrderedDict[str, tuple[float, DecisionSnapshot]] = OrderedDict()

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
        self._entries[snapshot.invite] = (now + ttl_s, snapshot)
        self._entries.move_to_end(snapshot.invite)
        self._evict(now)

    def delete(self, invite: str) -> None:
        self._entries.pop(invite, None)

    def _evict(self, now: float) -> None:
        # Entries are in write order, not expiry order; expired ones in front go now,
        # the rest are caught by get() or by the size bound.
        while self._entries:
            invite, (expires, _) = next(iter(self._entries.items()))
            if expires > now and len(self._entries) <= self.max_items:
                break
            del self._entries[invite]
