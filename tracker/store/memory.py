"""The embedded store: everything in this process, bounded, nothing to install.

Visitors live in an LRU map capped at ``max_visitors`` (a flood of new ids evicts
the least recently seen, it cannot exhaust memory) and expire by TTL. The event
log is a bounded ring per site, optionally mirrored to a JSONL file so replay and
analytics survive a restart.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tracker.ingest import DEDUP_WINDOW, PreparedBatch
from tracker.merge import apply_all
from tracker.session import SESSION_IDLE_MS, continuity
from tracker.store.base import (
    LOG_MAX_AGE_MS,
    VISITOR_TTL_MS,
    IngestResult,
    LogEntry,
    day_of,
)


@dataclass
class _Visitor:
    session: dict[str, str] = field(default_factory=dict)
    visitor: dict[str, str] = field(default_factory=dict)
    seen: deque[bytes] = field(default_factory=lambda: deque(maxlen=DEDUP_WINDOW))
    touched_s: float = 0.0


class MemoryStore:
    def __init__(
        self,
        *,
        max_visitors: int = 200_000,
        log_entries: int = 50_000,
        log_file: Path | None = None,
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
        self._visitor_ttl_s = visitor_ttl_ms / 1000
        self._idle_ms = idle_ms
        self._clock = clock
        if log_file is not None:
            self._reload_log(log_file)

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
            batch.session, batch.first_ms, batch.last_ms, self._idle_ms,
        )
        counters = self._counters[(batch.site, day_of(batch.received_ms))]
        if state == "new":
            entry.session = {"sid": batch.session}
            entry.seen.clear()
            entry.visitor["ns"] = str(int(entry.visitor.get("ns", "0")) + 1)
            counters["sessions"] = str(int(counters.get("sessions", "0")) + 1)
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
            if state != "stale":
                apply_all(entry.session, entry.visitor, event.ops, counters)
            fresh.append(index)
        if fresh:
            records = [orjson.loads(batch.events[i].record) for i in fresh]
            self._append_log(LogEntry(batch.site, batch.visitor, batch.session, batch.received_ms, records))
        return IngestResult(
            dict(entry.session), dict(entry.visitor), tuple(fresh) if state != "stale" else (),
            duplicates, state == "new", state == "stale",
        )

    async def load_visitor(self, site: str, visitor: str) -> tuple[dict[str, str], dict[str, str]]:
        entry = self._visitors.get((site, visitor))
        if entry is None or self._clock() - entry.touched_s > self._visitor_ttl_s:
            return {}, {}
        return dict(entry.session), dict(entry.visitor)

    async def forget_visitor(self, site: str, visitor: str) -> None:
        self._visitors.pop((site, visitor), None)

    # -- log and counters -----------------------------------------------------------------

    def _append_log(self, entry: LogEntry) -> None:
        ring = self._log[entry.site]
        if ring and ring[-1].received_ms > entry.received_ms:  # arrival times never go back, as in Redis
            entry = dataclasses.replace(entry, received_ms=ring[-1].received_ms)
        ring.append(entry)
        horizon = entry.received_ms - LOG_MAX_AGE_MS
        while ring and ring[0].received_ms < horizon:
            ring.popleft()
        if self._log_file is not None:
            with self._log_file.open("ab") as out:
                out.write(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))

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

    async def read_log(self, site: str, start_ms: int = 0, end_ms: int | None = None,
                       limit: int = 100_000) -> list[LogEntry]:
        entries = [e for e in self._log.get(site, ()) if e.received_ms >= start_ms
                   and (end_ms is None or e.received_ms <= end_ms)]
        return entries[:limit]

    async def counters(self, site: str, day: int) -> dict[str, int]:
        return {name: int(float(value)) for name, value in self._counters.get((site, day), {}).items()}

    # -- sites ----------------------------------------------------------------------------

    async def get_site_config(self, site: str) -> dict[str, Any] | None:
        return self._sites.get(site)

    async def put_site_config(self, site: str, document: dict[str, Any]) -> None:
        self._sites[site] = document

    async def list_sites(self) -> list[str]:
        return sorted(self._sites)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
