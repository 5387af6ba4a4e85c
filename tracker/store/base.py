"""The one ``Store`` protocol that every piece of state goes through.

Two implementations pass the same contract suite (tests/store): ``MemoryStore``
(one process, nothing to install) and ``RedisStore`` (several workers or hosts).
Store methods raise ``StoreUnavailable`` when the backing service cannot be
reached; the API turns that into ``503`` with ``Retry-After`` so the tracker
keeps its batch and retries.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tracker.ingest import PreparedBatch
from tracker.merge import Op

DEFAULT_SHARDS = 16
VISITOR_TTL_MS = 30 * 24 * 3600 * 1000
COUNTER_TTL_MS = 400 * 24 * 3600 * 1000
LOG_MAX_ENTRIES = 100_000
"""Per shard; Redis trims approximately (``MAXLEN ~``)."""
LOG_MAX_AGE_MS = 7 * 24 * 3600 * 1000


EXPIRING_TABLES = ("agents", "pending", "pool")
"""Small per-site tables whose members expire: online agents, shown unanswered invites, waiting visitors."""


class StoreUnavailable(RuntimeError):
    """The backing service did not answer; nothing was written."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    session: dict[str, str]
    visitor: dict[str, str]
    fresh: tuple[int, ...]
    """Indexes (into the batch) of events folded now; the others were duplicates or stale."""
    duplicates: int
    new_session: bool
    stale: bool


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One accepted batch in the event log: what replay and analytics read."""

    site: str
    visitor: str
    session: str
    received_ms: int
    events: list[dict[str, Any]] = field(default_factory=list)


def shard_of(visitor: str, shards: int) -> int:
    """A visitor's shard: its keys share one Redis Cluster hash slot with the shard's log and counters."""
    return zlib.crc32(visitor.encode()) % shards


def day_of(ms: int) -> int:
    return ms // 86_400_000


@runtime_checkable
class Store(Protocol):
    async def ingest(self, batch: PreparedBatch) -> IngestResult:
        """Fold a batch into its visitor's state, once per event, and append it to the log. Atomic."""
        ...

    async def load_visitor(self, site: str, visitor: str) -> tuple[dict[str, str], dict[str, str]]:
        """(session record, visitor record); empty dicts for an unknown visitor."""
        ...

    async def read_log(self, site: str, start_ms: int = 0, end_ms: int | None = None,
                       limit: int = 100_000) -> list[LogEntry]:
        """Log entries received in [start_ms, end_ms], oldest first, across all shards."""
        ...

    async def counters(self, site: str, day: int) -> dict[str, int]:
        """The site's counters for one day (UTC), summed across shards."""
        ...

    async def forget_visitor(self, site: str, visitor: str) -> None:
        """Delete a visitor's state (privacy requests). The log is trimmed by age."""
        ...

    async def apply_ops(self, site: str, visitor: str, session: str, ops: Sequence[Op]) -> bool:
        """Merge ops that come from a decision (an invitation offered, evidence timing) into a visitor.

        Session ops apply only while ``session`` is still the visitor's current session; returns
        whether it was.
        """
        ...

    async def add_counters(self, site: str, day: int, counts: Mapping[str, int]) -> None:
        """Add to the site's counters for one day (decisions by reason, invitations...)."""
        ...

    # -- availability: who can answer, who is waiting ---------------------------------------

    async def put_expiring(self, site: str, table: str, member: str, payload: dict[str, Any],
                           expires_ms: int) -> None:
        """Put ``member`` in one of the site's small expiring tables (agents, pending invites, pool)."""
        ...

    async def drop_expiring(self, site: str, table: str, member: str) -> None: ...

    async def read_expiring(self, site: str, table: str, now_ms: int) -> dict[str, dict[str, Any]]:
        """The table's members that have not expired at ``now_ms``."""
        ...

    # -- learning: one label stream per site, one model per site ----------------------------

    async def append_labels(self, site: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Append decision snapshots and outcomes for the site's single learner."""
        ...

    async def read_labels(self, site: str, count: int, block_ms: int,
                          pending: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """New records for the learner (waiting up to ``block_ms`` for some); with ``pending``, the
        records handed out before but never committed (what a restarted learner must redo)."""
        ...

    async def commit_learning(self, site: str, model: bytes, learner_state: bytes, version: int,
                              quality: Mapping[str, Any], label_ids: Sequence[str]) -> None:
        """Publish a model and acknowledge the labels it learned from, atomically: after a crash the
        learner resumes from the last commit without losing or double-learning a label."""
        ...

    async def model_version(self, site: str) -> int | None: ...

    async def get_model(self, site: str) -> tuple[int, bytes, dict[str, Any]] | None:
        """(version, model snapshot, quality report) of the last commit."""
        ...

    async def learner_state(self, site: str) -> bytes | None: ...

    async def get_site_config(self, site: str) -> dict[str, Any] | None: ...

    async def put_site_config(self, site: str, document: dict[str, Any]) -> None: ...

    async def list_sites(self) -> list[str]: ...

    async def ping(self) -> None:
        """Return when the store answers; raise ``StoreUnavailable`` otherwise."""
        ...

    async def close(self) -> None: ...
