"""Where state lives: small ports, each shaped by the code that uses it, and ``Store``, their union.

- ``VisitorLog``: visitor state, the event log and daily counters (collect, the chat's context, privacy);
- ``ExpiringTables``: small per-site tables whose members expire (agents, pending invites, the pool);
- ``LabelStream`` and ``ModelRegistry``: labels for the site's single learner, and its models;
- ``SiteConfigs``: site configs and their recorded versions;
- ``ChatRecords``: documents, logs with ids, counters, compare-and-set values and leases (api/chat);
- ``Journal``: the decision journal and agent-load samples (analytics);
- ``Lifecycle``: what the app asks of the adapter itself (is it process-local, its chat bus, flush, close).

Each consumer is typed against the ports it uses. Two adapters implement ``Store`` and pass the same
contract suites (tests/store): ``MemoryStore`` (one process, nothing to install) and ``RedisStore``
(several workers or hosts). Their methods raise ``StoreUnavailable`` when the backing service cannot be
reached; the API turns that into ``503`` with ``Retry-After`` so the tracker keeps its batch and retries.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tracker.days import days_ms
from tracker.ingest import PreparedBatch
from tracker.merge import Op

if TYPE_CHECKING:
    from api.store.bus import ChatBus

DEFAULT_SHARDS = 16
VISITOR_TTL_MS = days_ms(30)
COUNTER_TTL_MS = days_ms(400)
LOG_MAX_ENTRIES = 100_000
"""Per shard; Redis trims approximately (``MAXLEN ~``)."""
LOG_MAX_AGE_MS = days_ms(7)
RECORD_UPDATE_ATTEMPTS = 32
"""How often ``update_record`` retries when other writers keep changing the same record under it."""


JOURNAL_MAX_RECORDS = 200_000
"""Decision-journal records kept per site (the oldest go first); see docs/analytics.md."""
LOAD_SAMPLE_MS = 60_000
"""Agent-load samples are kept one per site per minute."""
LOAD_MAX_AGE_MS = days_ms(8)


EXPIRING_TABLES = ("agents", "pending", "pool", "invites")
"""Small per-site tables whose members expire: online agents, shown unanswered invites, waiting visitors,
and recent invitations' decisions (for the chat they may open)."""


class StoreUnavailable(RuntimeError):
    """The backing service did not answer; nothing was written."""


@dataclass(slots=True)  # not frozen: built on every collect (see tracker.ingest)
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


async def forget_in_tables(store: ExpiringTables, site: str, visitor: str) -> None:
    """The visitor's pool entry, recent invitations and their pending outcomes (both stores share this)."""
    await store.drop_expiring(site, "pool", visitor)
    for invite, info in (await store.read_expiring(site, "invites", 0)).items():
        if info.get("visitor") == visitor:
            await store.drop_expiring(site, "invites", invite)
            await store.drop_expiring(site, "pending", invite)


class VisitorLog(Protocol):
    """Visitor state, the event log and daily counters: collect's port."""

    async def ingest(self, batch: PreparedBatch) -> IngestResult:
        """Fold a batch into its visitor's state, once per event, and append it to the log. Atomic."""
        ...

    async def load_visitor(self, site: str, visitor: str) -> tuple[dict[str, str], dict[str, str]]:
        """(session record, visitor record); empty dicts for an unknown visitor."""
        ...

    async def read_log(
        self, site: str, start_ms: int = 0, end_ms: int | None = None, limit: int = 100_000
    ) -> list[LogEntry]:
        """Log entries received in [start_ms, end_ms], oldest first, across all shards."""
        ...

    async def counters(self, site: str, day: int) -> dict[str, int]:
        """The site's counters for one day (UTC), summed across shards."""
        ...

    async def forget_visitor(self, site: str, visitor: str) -> None:
        """Delete everything kept about a visitor (privacy requests): session and visitor records, their
        pacing-pool entry, their recent invitations (and the pending outcomes of those), their entries in
        the event log and in the decision journal. Chats are the chat package's (api/chat/transcripts.py).
        Label records carry no visitor id (an invite id and a feature vector) and are consumed by the
        learner within seconds; the model keeps only aggregated weights."""
        ...

    async def apply_ops(self, site: str, visitor: str, session: str, ops: Sequence[Op]) -> bool:
        """Merge ops that come from a decision (an invitation offered, evidence timing) into a visitor.

        Session ops apply only while ``session`` is still the visitor's current session; returns
        whether it was. A visitor the store holds no record of (deleted, or expired) gets nothing: the
        ops never bring back a visitor whose data was deleted meanwhile.
        """
        ...

    async def add_counters(self, site: str, day: int, counts: Mapping[str, int]) -> None:
        """Add to the site's counters for one day (decisions by reason, invitations...)."""
        ...


class ExpiringTables(Protocol):
    """Who can answer and who is waiting: small per-site tables whose members expire."""

    async def put_expiring(self, site: str, table: str, member: str, payload: dict[str, Any], expires_ms: int) -> None:
        """Put ``member`` in one of the site's small expiring tables (agents, pending invites, pool)."""
        ...

    async def drop_expiring(self, site: str, table: str, member: str) -> None: ...

    async def read_expiring(self, site: str, table: str, now_ms: int) -> dict[str, dict[str, Any]]:
        """The table's members that have not expired at ``now_ms``."""
        ...


class LabelStream(Protocol):
    """Decision snapshots and outcomes, one stream per site, read by the site's single learner."""

    async def append_labels(self, site: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Append decision snapshots and outcomes for the site's single learner."""
        ...

    async def read_labels(
        self, site: str, count: int, block_ms: int, pending: bool = False
    ) -> list[tuple[str, dict[str, Any]]]:
        """New records for the learner (waiting up to ``block_ms`` for some); with ``pending``, the
        records handed out before but never committed (what a restarted learner must redo)."""
        ...


class ModelRegistry(Protocol):
    """One model per site: the learner commits, every worker reads."""

    async def commit_learning(
        self,
        site: str,
        model: bytes,
        learner_state: bytes,
        version: int,
        quality: Mapping[str, Any],
        label_ids: Sequence[str],
    ) -> None:
        """Publish a model and acknowledge the labels it learned from, atomically: after a crash the
        learner resumes from the last commit without losing or double-learning a label."""
        ...

    async def model_version(self, site: str) -> int | None: ...

    async def get_model(self, site: str) -> tuple[int, bytes, dict[str, Any]] | None:
        """(version, model snapshot, quality report) of the last commit."""
        ...

    async def learner_state(self, site: str) -> bytes | None: ...


class SiteConfigs(Protocol):
    """Site configs, and every recorded version of them (marketers' edits)."""

    async def get_site_config(self, site: str) -> dict[str, Any] | None: ...

    async def put_site_config(self, site: str, document: dict[str, Any]) -> None: ...

    async def list_sites(self) -> list[str]: ...

    async def save_config_version(
        self, site: str, version: int, document: dict[str, Any], meta: Mapping[str, Any]
    ) -> bool:
        """Record ``document`` as the site's config version ``version`` (with ``meta``: author, at_ms,
        note, changes) and make it the site's config. False, and nothing written, when that version
        number is taken: someone else saved first."""
        ...

    async def config_versions(self, site: str) -> list[dict[str, Any]]:
        """The meta of every recorded version (``version`` included), oldest first."""
        ...

    async def config_version(self, site: str, version: int) -> dict[str, Any] | None:
        """One recorded version: its meta and its ``document``."""
        ...


class ChatRecords(Protocol):
    """The chat package's primitives (api/chat builds agents, routing, transcripts and the webhook outbox
    on them): small per-site documents, append-only logs with ids, short lists of the newest entries,
    atomic counters, values set by compare-and-set, and leases."""

    async def put_record(self, site: str, kind: str, key: str, document: Mapping[str, Any]) -> None:
        """Store one small document (an agent, a chat, a canned response...) under (kind, key)."""
        ...

    async def get_record(self, site: str, kind: str, key: str) -> dict[str, Any] | None: ...

    async def list_records(self, site: str, kind: str) -> dict[str, dict[str, Any]]:
        """Every document of one kind, by key."""
        ...

    async def drop_record(self, site: str, kind: str, key: str) -> None: ...

    async def update_record(self, site: str, kind: str, key: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """Merge ``fields`` into the document under (kind, key) if it exists, atomically; returns the new
        document, or None (nothing written) when there is none. A record dropped meanwhile (a visitor's
        deletion, the retention sweep) stays dropped, which a read then ``put_record`` cannot promise, and
        a concurrent update of other fields is kept."""
        ...

    async def append_entry(
        self, site: str, log: str, entry: Mapping[str, Any], dedup: str | None = None
    ) -> tuple[int, bool]:
        """Append to a per-site log; returns (id, duplicate). Ids count 1, 2, 3... in append order.

        With ``dedup`` (a client's id for the entry), appending the same ``dedup`` again appends
        nothing and returns the first append's id with ``duplicate`` true: a resend after a
        reconnect is safe.
        """
        ...

    async def read_entries(
        self, site: str, log: str, after: int = 0, limit: int = 1000
    ) -> list[tuple[int, dict[str, Any]]]:
        """Entries with an id greater than ``after``, oldest first (those still kept: see ``trim_entries``)."""
        ...

    async def trim_entries(self, site: str, log: str, upto: int) -> None:
        """Remove the log's entries with an id up to ``upto`` (what a reader has done with: the webhook
        outbox once it is delivered). Ids stay as they were: the next append still gets the next id, and
        ``read_entries(after=...)`` still means after that id. Atomic and idempotent: trimming again, or
        two trims racing, removes each entry once and never one past ``upto``; a ``upto`` past the last
        entry trims what there is. ``drop_log`` removes the rest and starts ids again from 1."""
        ...

    async def drop_log(self, site: str, log: str) -> None: ...

    async def push_recent(self, site: str, name: str, entry: Mapping[str, Any], keep: int) -> None:
        """Add ``entry`` to a short list that keeps only the newest ``keep`` (a webhook's deliveries). Atomic:
        two workers pushing at once both keep theirs."""
        ...

    async def read_recent(self, site: str, name: str) -> list[dict[str, Any]]:
        """The list's entries, newest first."""
        ...

    async def bounded_add(self, site: str, name: str, delta: int, limit: int | None = None) -> int | None:
        """Atomically add ``delta`` to a counter (never below 0) unless the result would pass
        ``limit``; returns the new value, or None when refused."""
        ...

    async def put_counter(self, site: str, name: str, value: int) -> None: ...

    async def compare_and_set(self, site: str, name: str, expected: str | None, new: str | None) -> bool:
        """Set a small value only if it is ``expected`` now (None: absent); ``new`` None deletes it."""
        ...

    async def get_value(self, site: str, name: str) -> str | None: ...

    async def claim(self, site: str, name: str, holder: str, ttl_ms: int, now_ms: int) -> bool:
        """A lease: true if ``holder`` holds ``name`` now (taken or renewed until ``now_ms + ttl_ms``).

        Time is the caller's: another holder's lease has ended when ``now_ms`` has passed its end."""
        ...


class Journal(Protocol):
    """What analytics reads besides the log: the decision journal and agent-load samples."""

    async def append_journal(self, site: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Decision-journal records, each with a ``ts`` (ms); at most ``JOURNAL_MAX_RECORDS`` per site
        are kept, the oldest dropped first."""
        ...

    async def read_journal(self, site: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Journal records with ``start_ms <= ts <= end_ms``, oldest first."""
        ...

    async def put_load_sample(self, site: str, at_ms: int, sample: Mapping[str, Any]) -> None:
        """One agent-load sample per site per minute: a later one for the same minute replaces it,
        so several workers sampling the same table write one series."""
        ...

    async def read_load_samples(self, site: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Samples (each with ``at_ms``, the start of its minute) in the window, oldest first."""
        ...


class Lifecycle(Protocol):
    """What the app asks of the adapter itself."""

    process_local: bool
    """True when the state lives in this process only: it is then its own single learner, and nothing
    else can share it."""

    def chat_bus(self) -> ChatBus:
        """A new bus that reaches every worker sharing this store."""
        ...

    async def flush(self) -> None:
        """Write out anything buffered in this process (the memory store's event log file)."""
        ...

    async def ping(self) -> None:
        """Return when the store answers; raise ``StoreUnavailable`` otherwise."""
        ...

    async def close(self) -> None: ...


class Store(
    VisitorLog, ExpiringTables, LabelStream, ModelRegistry, SiteConfigs, ChatRecords, Journal, Lifecycle, Protocol
):
    """Every port: what each adapter implements, and what the app wires its consumers from."""
