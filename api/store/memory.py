"""The embedded store: everything in this process, bounded, nothing to install.

Visitors live in an LRU map capped at ``max_visitors`` (a flood of new ids evicts
the least recently seen, it cannot exhaust memory) and expire by TTL. The event
log is a bounded ring per site, optionally mirrored to a JSONL file so replay and
analytics survive a restart.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import pickle
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from api.store.base import (
    JOURNAL_MAX_RECORDS,
    LOAD_MAX_AGE_MS,
    LOAD_SAMPLE_MS,
    LOG_MAX_AGE_MS,
    VISITOR_TTL_MS,
    IngestResult,
    LogEntry,
    forget_in_tables,
)
from api.store.bus import MemoryChatBus
from tracker.days import day_of
from tracker.events import fill_span
from tracker.ingest import DEDUP_WINDOW, PreparedBatch
from tracker.merge import Op, apply_all
from tracker.session import SESSION_IDLE_MS, continuity, start_session


@dataclass
class _Visitor:
    session: dict[str, str] = field(default_factory=dict)
    visitor: dict[str, str] = field(default_factory=dict)
    seen: deque[bytes] = field(default_factory=lambda: deque(maxlen=DEDUP_WINDOW))
    touched_s: float = 0.0


class MemoryStore:
    process_local = True

    def __init__(
        self,
        *,
        max_visitors: int = 200_000,
        log_entries: int = 50_000,
        log_file: Path | None = None,
        model_dir: Path | None = None,
        visitor_ttl_ms: int = VISITOR_TTL_MS,
        idle_ms: int = SESSION_IDLE_MS,
        clock: Any = time.monotonic,
    ) -> None:
        self._visitors: OrderedDict[tuple[str, str], _Visitor] = OrderedDict()
        self._max_visitors = max_visitors
        self._log: defaultdict[str, deque[LogEntry]] = defaultdict(lambda: deque(maxlen=log_entries))
        self._log_file = log_file
        self._counters: defaultdict[tuple[str, int], dict[str, str]] = defaultdict(dict)
        self._sites: dict[str, dict[str, Any]] = {}
        self._expiring: defaultdict[tuple[str, str], dict[str, tuple[int, dict[str, Any]]]] = defaultdict(dict)
        self._labels: defaultdict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self._label_read: defaultdict[str, int] = defaultdict(int)  # records handed to the learner
        self._label_committed: defaultdict[str, int] = defaultdict(int)
        self._label_seq = 0
        self._label_arrived = asyncio.Event()
        self._models: dict[str, tuple[int, bytes, dict[str, Any]]] = {}
        self._learner_states: dict[str, bytes] = {}
        self._model_dir = model_dir
        self._marketing = _Marketing()  # config versions, decision journal, load samples (#7)
        if model_dir is not None:
            self._reload_models(model_dir)
        self._visitor_ttl_s = visitor_ttl_ms / 1000
        self._idle_ms = idle_ms
        self._clock = clock
        self._log_writer: BinaryIO | None = None
        if log_file is not None:
            self._reload_log(log_file)
            log_file.parent.mkdir(parents=True, exist_ok=True)
            # Kept open and buffered; flushed by flush() (the app calls it every second) and on close.
            self._log_writer = log_file.open("ab", buffering=256 * 1024)

    # -- visitors -------------------------------------------------------------------------

    def _entry(self, site: str, visitor: str) -> _Visitor:
        key = (site, visitor)
        now = self._clock()
        entry = self._visitors.get(key)
        if entry is None or now - entry.touched_s > self._visitor_ttl_s:
            entry = _Visitor()
            self._visitors[key] = entry
            while len(self._visitors) > self._max_visitors:
                self._visitors.popitem(last=False)
        else:
            self._visitors.move_to_end(key)
        entry.touched_s = now
        return entry

    async def ingest(self, batch: PreparedBatch) -> IngestResult:
        entry = self._entry(batch.site, batch.visitor)
        stored = entry.session
        state = continuity(
            stored.get("sid"),
            int(stored["st"]) if "st" in stored else None,
            int(stored["ls"]) if "ls" in stored else None,
            batch.session,
            batch.first_ms,
            batch.last_ms,
            self._idle_ms,
        )
        counters = self._counters[(batch.site, day_of(batch.received_ms))]
        if state == "new":
            entry.session = start_session(batch.session, entry.visitor, counters)
            entry.seen.clear()
        fresh: list[int] = []
        duplicates = 0
        whole_batch_seen = batch.fingerprint in entry.seen
        if not whole_batch_seen:
            entry.seen.append(batch.fingerprint)
        for index, event in enumerate(batch.events):
            if whole_batch_seen or event.fingerprint in entry.seen:
                duplicates += 1
                continue
            entry.seen.append(event.fingerprint)
            fresh.append(index)
        if fresh and state != "stale":
            ops = (op for i in fresh for op in batch.events[i].ops) if duplicates else batch.ops
            apply_all(entry.session, entry.visitor, ops, counters)
            times = [batch.events[i].ts for i in fresh]
            apply_all(entry.session, entry.visitor, fill_span(batch.span_ops, min(times), max(times)))
        if fresh:
            records = [orjson.loads(batch.events[i].record) for i in fresh]
            self._append_log(LogEntry(batch.site, batch.visitor, batch.session, batch.received_ms, records))
        return IngestResult(
            dict(entry.session),
            dict(entry.visitor),
            tuple(fresh) if state != "stale" else (),
            duplicates,
            state == "new",
            state == "stale",
        )

    async def load_visitor(self, site: str, visitor: str) -> tuple[dict[str, str], dict[str, str]]:
        entry = self._visitors.get((site, visitor))
        if entry is None or self._clock() - entry.touched_s > self._visitor_ttl_s:
            return {}, {}
        return dict(entry.session), dict(entry.visitor)

    async def forget_visitor(self, site: str, visitor: str) -> None:
        self._visitors.pop((site, visitor), None)
        await forget_in_tables(self, site, visitor)
        ring = self._log.get(site)
        if ring is not None and any(entry.visitor == visitor for entry in ring):
            self._log[site] = deque((entry for entry in ring if entry.visitor != visitor), maxlen=ring.maxlen)
            self._rewrite_log_file(site, visitor)
        journal = self._marketing.journal.get(site)
        if journal:
            journal[:] = [record for record in journal if record.get("v") != visitor]

    def _rewrite_log_file(self, site: str, visitor: str) -> None:
        """The file mirror without the visitor's lines (rare: privacy requests only)."""
        if self._log_file is None or self._log_writer is None:
            return
        self._log_writer.close()
        kept = []
        with self._log_file.open("rb") as lines:
            for line in lines:
                try:
                    raw = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if not (raw.get("site") == site and raw.get("visitor") == visitor):
                    kept.append(line if line.endswith(b"\n") else line + b"\n")
        partial = self._log_file.with_suffix(".partial")
        partial.write_bytes(b"".join(kept))
        partial.replace(self._log_file)
        self._log_writer = self._log_file.open("ab", buffering=256 * 1024)

    # -- log and counters -----------------------------------------------------------------

    def _append_log(self, entry: LogEntry) -> None:
        ring = self._log[entry.site]
        if ring and ring[-1].received_ms > entry.received_ms:  # arrival times never go back, as in Redis
            entry = dataclasses.replace(entry, received_ms=ring[-1].received_ms)
        ring.append(entry)
        horizon = entry.received_ms - LOG_MAX_AGE_MS
        while ring and ring[0].received_ms < horizon:
            ring.popleft()
        if self._log_writer is not None:
            self._log_writer.write(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))

    def _reload_log(self, path: Path) -> None:
        if not path.exists():
            return
        with path.open("rb") as lines:
            for line in lines:
                try:
                    raw = orjson.loads(line)
                    self._log[raw["site"]].append(LogEntry(**raw))
                except (orjson.JSONDecodeError, TypeError, KeyError):
                    continue  # a torn last line after a crash: the entries before it stand

    async def read_log(
        self, site: str, start_ms: int = 0, end_ms: int | None = None, limit: int = 100_000
    ) -> list[LogEntry]:
        entries = [
            e
            for e in self._log.get(site, ())
            if e.received_ms >= start_ms and (end_ms is None or e.received_ms <= end_ms)
        ]
        return entries[:limit]

    async def counters(self, site: str, day: int) -> dict[str, int]:
        return {name: int(float(value)) for name, value in self._counters.get((site, day), {}).items()}

    async def apply_ops(self, site: str, visitor: str, session: str, ops: Sequence[Op]) -> bool:
        if not (await self.load_visitor(site, visitor))[1]:
            return False  # no record of the visitor (deleted or expired meanwhile): not brought back
        entry = self._entry(site, visitor)
        current = entry.session.get("sid") == session
        apply_all(entry.session if current else {}, entry.visitor, ops)
        return current

    async def add_counters(self, site: str, day: int, counts: Mapping[str, int]) -> None:
        counters = self._counters[(site, day)]
        for name, count in counts.items():
            counters[name] = str(int(counters.get(name, "0")) + count)

    # -- availability ---------------------------------------------------------------------

    async def put_expiring(self, site: str, table: str, member: str, payload: dict[str, Any], expires_ms: int) -> None:
        self._expiring[(site, table)][member] = (expires_ms, payload)

    async def drop_expiring(self, site: str, table: str, member: str) -> None:
        members = self._expiring.get((site, table))
        if members is not None:
            members.pop(member, None)
            if not members:  # small per-chat tables come and go: keep no empty ones (as Redis does)
                del self._expiring[(site, table)]

    async def read_expiring(self, site: str, table: str, now_ms: int) -> dict[str, dict[str, Any]]:
        members = self._expiring.get((site, table))
        if members is None:
            return {}
        for gone in [m for m, (expires, _) in members.items() if expires <= now_ms]:
            del members[gone]
        if not members:
            del self._expiring[(site, table)]
        return {member: payload for member, (_, payload) in members.items()}

    # -- learning ---------------------------------------------------------------------------

    async def append_labels(self, site: str, records: Sequence[Mapping[str, Any]]) -> None:
        for record in records:
            self._label_seq += 1
            self._labels[site].append((str(self._label_seq), dict(record)))
        self._label_arrived.set()

    async def read_labels(
        self, site: str, count: int, block_ms: int, pending: bool = False
    ) -> list[tuple[str, dict[str, Any]]]:
        if pending:
            return self._labels[site][: min(count, self._label_read[site])]
        if self._label_read[site] >= len(self._labels[site]) and block_ms > 0:
            self._label_arrived.clear()
            try:
                await asyncio.wait_for(self._label_arrived.wait(), block_ms / 1000)
            except TimeoutError:
                return []
        start = self._label_read[site]
        records = self._labels[site][start : start + count]
        self._label_read[site] = start + len(records)
        return records

    async def commit_learning(
        self,
        site: str,
        model: bytes,
        learner_state: bytes,
        version: int,
        quality: Mapping[str, Any],
        label_ids: Sequence[str],
    ) -> None:
        self._models[site] = (version, model, dict(quality))
        self._learner_states[site] = learner_state
        if label_ids:
            committed = self._labels[site]
            last = next(i for i, (label_id, _) in enumerate(committed) if label_id == label_ids[-1]) + 1
            del committed[:last]  # learned and committed: nothing will read them again
            self._label_read[site] = max(0, self._label_read[site] - last)
        if self._model_dir is not None:
            self._save_model(site)

    async def model_version(self, site: str) -> int | None:
        model = self._models.get(site)
        return None if model is None else model[0]

    async def get_model(self, site: str) -> tuple[int, bytes, dict[str, Any]] | None:
        return self._models.get(site)

    async def learner_state(self, site: str) -> bytes | None:
        return self._learner_states.get(site)

    def _save_model(self, site: str) -> None:
        assert self._model_dir is not None
        self._model_dir.mkdir(parents=True, exist_ok=True)
        target = self._model_dir / f"{site}.learner"
        partial = target.with_suffix(".partial")
        partial.write_bytes(pickle.dumps((self._models[site], self._learner_states[site])))
        partial.replace(target)  # atomic: a crash leaves the previous commit

    def _reload_models(self, directory: Path) -> None:
        for path in directory.glob("*.learner"):
            try:
                self._models[path.stem], self._learner_states[path.stem] = pickle.loads(path.read_bytes())
            except (pickle.UnpicklingError, EOFError, ValueError):
                continue  # the learner starts that site from its prior

    # -- sites ----------------------------------------------------------------------------

    async def get_site_config(self, site: str) -> dict[str, Any] | None:
        return self._sites.get(site)

    async def put_site_config(self, site: str, document: dict[str, Any]) -> None:
        self._sites[site] = document

    async def list_sites(self) -> list[str]:
        return sorted(self._sites)

    def chat_bus(self) -> MemoryChatBus:
        return MemoryChatBus()

    async def ping(self) -> None:
        return None

    async def flush(self) -> None:
        """Write the buffered event log to its file."""
        if self._log_writer is not None:
            self._log_writer.flush()

    async def close(self) -> None:
        if self._log_writer is not None:
            self._log_writer.close()
            self._log_writer = None

    # -- chat: agents, chats, transcripts, webhooks (api/chat) ------------------------------

    _chat: _ChatState | None = None  # created on first use: most processes that ingest never chat

    def _chat_state(self) -> _ChatState:
        if self._chat is None:
            self._chat = _ChatState()
        return self._chat

    async def put_record(self, site: str, kind: str, key: str, document: Mapping[str, Any]) -> None:
        self._chat_state().records[(site, kind)][key] = orjson.dumps(document)

    async def get_record(self, site: str, kind: str, key: str) -> dict[str, Any] | None:
        raw = self._chat_state().records[(site, kind)].get(key)
        return None if raw is None else dict(orjson.loads(raw))

    async def list_records(self, site: str, kind: str) -> dict[str, dict[str, Any]]:
        return {key: orjson.loads(raw) for key, raw in self._chat_state().records[(site, kind)].items()}

    async def drop_record(self, site: str, kind: str, key: str) -> None:
        self._chat_state().records[(site, kind)].pop(key, None)

    async def update_record(self, site: str, kind: str, key: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        records = self._chat_state().records[(site, kind)]
        raw = records.get(key)
        if raw is None:
            return None
        records[key] = orjson.dumps(orjson.loads(raw) | dict(fields))
        return dict(orjson.loads(records[key]))

    async def append_entry(
        self, site: str, log: str, entry: Mapping[str, Any], dedup: str | None = None
    ) -> tuple[int, bool]:
        state = self._chat_state()
        seen = state.dedup[(site, log)]
        if dedup is not None and dedup in seen:
            return seen[dedup], True
        entries = state.logs[(site, log)]
        entries.append(orjson.dumps(entry))
        entry_id = state.trimmed.get((site, log), 0) + len(entries)
        if dedup is not None:
            seen[dedup] = entry_id
        return entry_id, False

    async def read_entries(
        self, site: str, log: str, after: int = 0, limit: int = 1000
    ) -> list[tuple[int, dict[str, Any]]]:
        state = self._chat_state()
        entries = state.logs.get((site, log), [])
        trimmed = state.trimmed.get((site, log), 0)
        start = max(after - trimmed, 0)
        return [(trimmed + start + i + 1, orjson.loads(raw)) for i, raw in enumerate(entries[start : start + limit])]

    async def trim_entries(self, site: str, log: str, upto: int) -> None:
        state = self._chat_state()
        entries = state.logs.get((site, log))
        if not entries:
            return
        trimmed = state.trimmed.get((site, log), 0)
        count = min(upto - trimmed, len(entries))
        if count > 0:
            del entries[:count]
            state.trimmed[(site, log)] = trimmed + count

    async def drop_log(self, site: str, log: str) -> None:
        state = self._chat_state()
        state.logs.pop((site, log), None)
        state.dedup.pop((site, log), None)
        state.trimmed.pop((site, log), None)

    async def push_recent(self, site: str, name: str, entry: Mapping[str, Any], keep: int) -> None:
        recent = self._chat_state().recent[(site, name)]
        recent.insert(0, orjson.dumps(entry))
        del recent[keep:]

    async def read_recent(self, site: str, name: str) -> list[dict[str, Any]]:
        return [orjson.loads(raw) for raw in self._chat_state().recent.get((site, name), [])]

    async def bounded_add(self, site: str, name: str, delta: int, limit: int | None = None) -> int | None:
        counters = self._chat_state().counters
        value = max(0, counters.get((site, name), 0) + delta)
        if limit is not None and delta > 0 and value > limit:
            return None
        counters[(site, name)] = value
        return value

    async def put_counter(self, site: str, name: str, value: int) -> None:
        self._chat_state().counters[(site, name)] = max(0, value)

    async def compare_and_set(self, site: str, name: str, expected: str | None, new: str | None) -> bool:
        values = self._chat_state().values
        if values.get((site, name)) != expected:
            return False
        if new is None:
            values.pop((site, name), None)
        else:
            values[(site, name)] = new
        return True

    async def get_value(self, site: str, name: str) -> str | None:
        return self._chat_state().values.get((site, name))

    async def claim(self, site: str, name: str, holder: str, ttl_ms: int, now_ms: int) -> bool:
        leases = self._chat_state().leases
        current = leases.get((site, name))
        if current is not None and current[0] != holder and current[1] > now_ms:
            return False
        leases[(site, name)] = (holder, now_ms + ttl_ms)
        return True

    # -- marketers (#7): config versions, the decision journal, agent-load samples ------------
    # Kept in this process only: like the counters, they start afresh on a restart.

    async def save_config_version(
        self, site: str, version: int, document: dict[str, Any], meta: Mapping[str, Any]
    ) -> bool:
        versions = self._marketing.versions[site]
        if version in versions:
            return False
        versions[version] = {**meta, "version": version, "document": document}
        self._sites[site] = document
        return True

    async def config_versions(self, site: str) -> list[dict[str, Any]]:
        versions = self._marketing.versions.get(site, {})
        return [{k: v for k, v in versions[n].items() if k != "document"} for n in sorted(versions)]

    async def config_version(self, site: str, version: int) -> dict[str, Any] | None:
        return self._marketing.versions.get(site, {}).get(version)

    async def append_journal(self, site: str, records: Sequence[Mapping[str, Any]]) -> None:
        journal = self._marketing.journal[site]
        for record in records:
            bisect.insort(journal, dict(record), key=lambda r: r["ts"])
        del journal[: max(0, len(journal) - JOURNAL_MAX_RECORDS)]

    async def read_journal(self, site: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        journal = self._marketing.journal.get(site, [])
        first = bisect.bisect_left(journal, start_ms, key=lambda r: r["ts"])
        last = bisect.bisect_right(journal, end_ms, key=lambda r: r["ts"])
        return [dict(record) for record in journal[first:last]]

    async def put_load_sample(self, site: str, at_ms: int, sample: Mapping[str, Any]) -> None:
        minute = at_ms - at_ms % LOAD_SAMPLE_MS
        samples = self._marketing.load[site]
        samples[minute] = {**sample, "at_ms": minute}
        for old in [m for m in samples if m < minute - LOAD_MAX_AGE_MS]:
            del samples[old]

    async def read_load_samples(self, site: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        samples = self._marketing.load.get(site, {})
        return [dict(samples[m]) for m in sorted(samples) if start_ms - LOAD_SAMPLE_MS < m <= end_ms]


@dataclass
class _ChatState:
    records: defaultdict[tuple[str, str], dict[str, bytes]] = field(default_factory=lambda: defaultdict(dict))
    logs: defaultdict[tuple[str, str], list[bytes]] = field(default_factory=lambda: defaultdict(list))
    dedup: defaultdict[tuple[str, str], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    trimmed: dict[tuple[str, str], int] = field(default_factory=dict)
    """How many entries have been trimmed off the head of each log: the first kept one has id ``trimmed + 1``."""
    recent: defaultdict[tuple[str, str], list[bytes]] = field(default_factory=lambda: defaultdict(list))
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    values: dict[tuple[str, str], str] = field(default_factory=dict)
    leases: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)


@dataclass
class _Marketing:
    versions: defaultdict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    journal: defaultdict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    load: defaultdict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
