"""The Redis store: shared state for several API workers and hosts.

Keys carry a hash tag per site shard, ``{site:NN}``: a visitor's session, visitor
record, dedup ring, and the shard's event log and daily counters share one Redis
Cluster slot, so one collect is one Lua call, one round trip, Cluster-safe.
Site-wide keys (labels, model, chat, config versions, journal) share the site's
tag, ``{site}``. The same code runs on one Redis and on a Cluster: every script
and every MULTI touches one slot, and pipelines that span shards are not
transactional (the Cluster client splits them per node).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any, cast

import hiredis  # a declared dependency (redis[hiredis]): the packer and the collect path's parser
import msgspec
import orjson
import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis.asyncio.connection import Connection, parse_url
from redis.connection import HiredisRespSerializer

from api.meter import NO_METER, Meter
from api.store.autopipeline import AutoPipeline
from api.store.base import (
    COUNTER_TTL_MS,
    DEFAULT_SHARDS,
    JOURNAL_MAX_RECORDS,
    LOAD_MAX_AGE_MS,
    LOAD_SAMPLE_MS,
    LOG_MAX_AGE_MS,
    LOG_MAX_ENTRIES,
    RECORD_UPDATE_ATTEMPTS,
    VISITOR_TTL_MS,
    IngestResult,
    LogEntry,
    StoreUnavailable,
    forget_in_tables,
    shard_of,
)
from api.store.bus import RedisChatBus
from tracker.days import day_of
from tracker.ingest import DEDUP_WINDOW, FINGERPRINT_BYTES, PreparedBatch
from tracker.merge import Op
from tracker.session import SESSION_IDLE_MS

log = logging.getLogger("tactful.store.redis")

REPLICA_WAIT_MS = 1000
"""How long a chat message's acknowledgement waits for replicas (``wait_replicas``) before going out anyway."""
REPLICA_COUNT_TTL_S = 1.0


def _metered(connection_class: type[Any], meter: Meter) -> type[Any]:
    """``connection_class`` telling ``meter`` of its round trips, and packing commands with hiredis.

    redis-py's asyncio connections pack commands in Python, re-joining the buffer once per argument:
    21 us for a collect's 23-argument script call, against 4 us for hiredis's C packer (the one
    redis-py's own synchronous connections use). It was the costliest step of a collect's Redis call.
    """

    async def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        meter.round_trip()
        await connection_class.send_packed_command(self, command, check_health)

    serializer = cast(Any, HiredisRespSerializer)()  # typed in some redis-py 8 releases, not in others

    def pack_command(self: Any, *args: Any) -> list[bytes]:
        # Straight to hiredis when the arguments are what it takes as they are; otherwise (a
        # two-word command name, a memoryview, an unsupported type) redis-py's wrapper, which
        # splits, converts or raises DataError. Its per-argument checks cost more than the packing.
        name = args[0]
        if (b" " if isinstance(name, bytes) else " ") not in name:
            try:
                return [hiredis.pack_command(args)]
            except TypeError:
                pass
        packed: list[bytes] = serializer.pack(*args)
        return packed

    methods = {"send_packed_command": send_packed_command, "pack_command": pack_command}
    return type(f"Metered{connection_class.__name__}", (connection_class,), methods)


def _script(name: str) -> str:
    """A script with the shared merge functions in front of it."""
    folder = resources.files("api.store")
    return folder.joinpath("merge.lua").read_text() + folder.joinpath(name).read_text()


_COLLECT_LUA = _script("collect.lua")
_APPLY_LUA = _script("apply.lua")
LEARNER_GROUP = "learner"

RING_FIELD = re.compile(rb"^f\d$")
UNAVAILABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ClusterDownError,
    OSError,
)


@contextmanager
def _guarded() -> Iterator[None]:
    """Every Redis failure that means "not reachable now" becomes ``StoreUnavailable``."""
    try:
        yield
    except UNAVAILABLE as error:
        raise StoreUnavailable(str(error)) from error
    except redis_errors.RedisClusterException as error:
        # The Cluster client wraps "no node reachable" in its own exception; other ones (a command across
        # slots) are bugs, and must not pass for an outage.
        if isinstance(error, redis_errors.SlotNotCoveredError) or isinstance(error.__cause__, UNAVAILABLE):
            raise StoreUnavailable(str(error)) from error
        raise


_msgpack = msgspec.msgpack.Encoder()


def _flat(ops: Sequence[Op]) -> list[str]:
    return [part for op in ops for part in op]


def _pack_events(batch: PreparedBatch) -> bytes:
    """Each event as [its log record's length, its ops flat, corrected ts], one msgpack argument: sent
    only when the script asks for it, for a batch that mixes fresh and duplicate events (a second
    call; the usual batch costs one). The records themselves travel once, in ``_log_value``, where
    the lengths find them."""
    return _msgpack.encode([[len(event.record), _flat(event.ops), event.ts] for event in batch.events])


def _pack_batch(batch: PreparedBatch) -> bytes:
    """[span op templates, the batch's folded ops], flat as target, field, kind, value: what the script
    applies when every event is fresh."""
    return _msgpack.encode([_flat(batch.span_ops), _flat(batch.ops)])


def _log_value(batch: PreparedBatch) -> bytes:
    """The whole batch's log entry: its records as one JSON array (joined by single commas, which the
    script relies on to cut out single records)."""
    return b"[" + b",".join(event.record for event in batch.events) + b"]"


def _decoded(record: dict[bytes, bytes]) -> dict[str, str]:
    """A stored record as text, without the binary dedup ring fields (``f1``..``f4``)."""
    return {k.decode(): v.decode() for k, v in record.items() if not RING_FIELD.match(k)}


_CollectReply = tuple[list[int], int, str, list[str], list[str]]
_decode_collect_reply = msgspec.msgpack.Decoder(_CollectReply).decode
"""collect.lua's answer: fresh event indexes, duplicates, session state, session and visitor fields flat."""


def _pairs(flat: list[str]) -> dict[str, str]:
    fields = iter(flat)
    return dict(zip(fields, fields, strict=True))


RedisClient = aioredis.Redis | aioredis.RedisCluster
"""One Redis, or a Redis Cluster: the store makes the same calls on either."""


class RedisStore:
    process_local = False

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = "tf",
        shards: int = DEFAULT_SHARDS,
        visitor_ttl_ms: int = VISITOR_TTL_MS,
        idle_ms: int = SESSION_IDLE_MS,
        log_max_entries: int = LOG_MAX_ENTRIES,
        meter: Meter = NO_METER,
        wait_replicas: int = 1,
        replica_wait_ms: int = REPLICA_WAIT_MS,
    ) -> None:
        """``meter`` hears of every collect script call; of other calls too when the store opened its own
        connections (``from_url``), since a caller's pool is the caller's.

        ``wait_replicas``: a chat message (``append_entry``) returns once this many of its master's connected
        replicas have it, or after ``replica_wait_ms``, whichever is first (Redis replicates asynchronously:
        without this a master that dies just after answering can take an acknowledged message with it)."""
        self.client = client
        self._wait_replicas = wait_replicas
        self._replica_wait_ms = replica_wait_ms
        self._replicas_seen: dict[str, tuple[int, float]] = {}
        """Per master: how many replicas it had, and when that was asked (monotonic s)."""
        self._counting = asyncio.Lock()
        self.prefix = prefix
        self.shards = shards
        self._visitor_ttl_ms = visitor_ttl_ms
        self._idle_ms = idle_ms
        self._log_max_entries = log_max_entries
        collect_script = client.register_script(_COLLECT_LUA)
        # On a Cluster, collects go one by one through its client: it routes each by slot and follows
        # MOVED and ASK redirections.
        self._collect: Any = (
            AutoPipeline(client, collect_script, count=meter.round_trip)
            if isinstance(client, aioredis.Redis)
            else collect_script
        )
        self._apply = client.register_script(_APPLY_LUA)
        self._groups_ready: set[str] = set()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        max_connections: int = 64,
        meter: Meter = NO_METER,
        **options: Any,
    ) -> RedisStore:
        """``cluster``: ``url`` names one node of a Redis Cluster; the client finds the others and the slot map.

        ``max_connections`` per node. When all are busy a request waits (up to 2 s) for one rather than
        failing: redis-py's default pool refuses the 101st concurrent command, which under load turned
        into 503s that the data did not deserve.
        """
        if cluster:
            client: RedisClient = aioredis.RedisCluster.from_url(
                url,
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
                connection_class=_metered(Connection, meter),
                max_connections=max_connections,
            )
        else:
            # The URL's own options (its scheme's connection class: TCP, TLS or a Unix socket), that class metered.
            url_options = parse_url(url)
            url_options["connection_class"] = _metered(url_options.get("connection_class", Connection), meter)
            pool = aioredis.BlockingConnectionPool(
                **url_options,
                max_connections=max_connections,
                timeout=2.0,
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
                health_check_interval=15,
            )
            client = aioredis.Redis.from_pool(pool)  # the client owns the pool and closes it
        return cls(client, meter=meter, **options)

    # -- keys -----------------------------------------------------------------------------

    def _tag(self, site: str, shard: int) -> str:
        return f"{self.prefix}:{{{site}:{shard:02d}}}"

    def _visitor_keys(self, site: str, visitor: str) -> tuple[str, str]:
        tag = self._tag(site, shard_of(visitor, self.shards))
        return f"{tag}:s:{visitor}", f"{tag}:v:{visitor}"

    def _log_key(self, site: str, shard: int) -> str:
        return f"{self._tag(site, shard)}:log"

    def _counters_key(self, site: str, shard: int, day: int) -> str:
        return f"{self._tag(site, shard)}:n:{day}"

    # -- collect ---------------------------------------------------------------------------

    async def ingest(self, batch: PreparedBatch) -> IngestResult:
        shard = shard_of(batch.visitor, self.shards)
        session_key, visitor_key = self._visitor_keys(batch.site, batch.visitor)
        log_key = self._log_key(batch.site, shard)
        keys = [
            session_key,
            visitor_key,
            log_key,
            self._counters_key(batch.site, shard, day_of(batch.received_ms)),
            f"{log_key}:t",
        ]
        args: list[Any] = [
            batch.session,
            batch.visitor,
            batch.received_ms,
            self._idle_ms,
            self._visitor_ttl_ms,
            DEDUP_WINDOW * FINGERPRINT_BYTES,
            self._log_max_entries,
            COUNTER_TTL_MS,
            batch.first_ms,
            batch.last_ms,
            len(batch.events),
            max(0, batch.received_ms - LOG_MAX_AGE_MS),
            batch.fingerprint,
            b"",
            b"".join(event.fingerprint for event in batch.events),
            _pack_batch(batch),
            _log_value(batch),
        ]
        with _guarded():
            reply = await self._collect(keys=keys, args=args)
            fresh, duplicates, state, session, visitor = _decode_collect_reply(reply)
            if state == "events":  # part of the batch was seen before: the script wants each event's ops
                args[13] = _pack_events(batch)
                reply = await self._collect(keys=keys, args=args)
                fresh, duplicates, state, session, visitor = _decode_collect_reply(reply)
        return IngestResult(
            _pairs(session), _pairs(visitor), tuple(fresh), duplicates, state == "new", state == "stale"
        )

    async def load_visitor(self, site: str, visitor: str) -> tuple[dict[str, str], dict[str, str]]:
        session_key, visitor_key = self._visitor_keys(site, visitor)
        with _guarded():
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hgetall(session_key)
                pipe.hgetall(visitor_key)
                session, record = await pipe.execute()
        return _decoded(session), _decoded(record)

    async def forget_visitor(self, site: str, visitor: str) -> None:
        with _guarded():
            await self.client.delete(*self._visitor_keys(site, visitor))
            await forget_in_tables(self, site, visitor)
            await self._forget_logged(site, visitor)
            journal = self._site_key(site, "journal")
            async for member, _ in self.client.zscan_iter(journal, match=f'*"v":"{visitor}"*', count=1000):
                if orjson.loads(member).get("v") == visitor:  # the pattern is a hint; this is the rule
                    await self.client.zrem(journal, member)

    async def _forget_logged(self, site: str, visitor: str) -> None:
        """The visitor's entries in their shard's log stream, read in pages and deleted by id."""
        key, start = self._log_key(site, shard_of(visitor, self.shards)), "-"
        while True:
            page: Any = await self.client.xrange(key, min=start, count=1000)
            if not page:
                return
            mine = [entry_id for entry_id, fields in page if fields.get(b"v") == visitor.encode()]
            if mine:
                await self.client.xdel(key, *mine)
            if len(page) < 1000:
                return
            start = "(" + page[-1][0].decode()

    # -- log and counters -------------------------------------------------------------------

    async def read_log(
        self, site: str, start_ms: int = 0, end_ms: int | None = None, limit: int = 100_000
    ) -> list[LogEntry]:
        with _guarded():
            async with self.client.pipeline(transaction=False) as pipe:
                for shard in range(self.shards):
                    pipe.xrange(
                        self._log_key(site, shard),
                        min=str(start_ms),
                        max="+" if end_ms is None else str(end_ms),
                        count=limit,
                    )
                per_shard = await pipe.execute()
        entries = (
            LogEntry(
                site,
                fields[b"v"].decode(),
                fields[b"s"].decode(),
                int(entry_id.split(b"-")[0]),
                orjson.loads(fields[b"e"]),
            )
            for shard in per_shard
            for entry_id, fields in shard
        )
        return heapq.nsmallest(limit, entries, key=lambda entry: entry.received_ms)

    async def counters(self, site: str, day: int) -> dict[str, int]:
        with _guarded():
            async with self.client.pipeline(transaction=False) as pipe:
                for shard in range(self.shards):
                    pipe.hgetall(self._counters_key(site, shard, day))
                per_shard = await pipe.execute()
        totals: dict[str, int] = {}
        for counts in per_shard:
            for name, value in counts.items():
                totals[name.decode()] = totals.get(name.decode(), 0) + int(float(value))
        return totals

    async def apply_ops(self, site: str, visitor: str, session: str, ops: Sequence[Op]) -> bool:
        args: list[Any] = [session, self._visitor_ttl_ms, len(ops)]
        for op in ops:
            args += op
        with _guarded():
            return bool(await self._apply(keys=list(self._visitor_keys(site, visitor)), args=args))

    async def add_counters(self, site: str, day: int, counts: Mapping[str, int]) -> None:
        key = self._counters_key(site, 0, day)
        with _guarded():
            async with self.client.pipeline(transaction=False) as pipe:
                for name, count in counts.items():
                    pipe.hincrby(key, name, count)
                pipe.pexpire(key, COUNTER_TTL_MS)
                await pipe.execute()

    # -- availability -------------------------------------------------------------------------

    def _site_key(self, site: str, name: str) -> str:
        return f"{self.prefix}:{{{site}}}:{name}"

    async def put_expiring(self, site: str, table: str, member: str, payload: dict[str, Any], expires_ms: int) -> None:
        with _guarded():
            await self.client.hset(
                self._site_key(site, f"x:{table}"), member, b"%d|" % expires_ms + orjson.dumps(payload)
            )

    async def drop_expiring(self, site: str, table: str, member: str) -> None:
        with _guarded():
            await self.client.hdel(self._site_key(site, f"x:{table}"), member)

    async def read_expiring(self, site: str, table: str, now_ms: int) -> dict[str, dict[str, Any]]:
        key = self._site_key(site, f"x:{table}")
        with _guarded():
            raw: dict[bytes, bytes] = await self.client.hgetall(key)  # type: ignore[assignment]
        live, expired = {}, []
        for member, value in raw.items():
            expires, _, payload = value.partition(b"|")
            if int(expires) > now_ms:
                live[member.decode()] = orjson.loads(payload)
            else:
                expired.append(member)
        if expired:
            with _guarded():
                await self.client.hdel(key, *expired)
        return live

    # -- learning ---------------------------------------------------------------------------

    async def append_labels(self, site: str, records: Sequence[Mapping[str, Any]]) -> None:
        key = self._site_key(site, "labels")
        with _guarded():
            async with self.client.pipeline(transaction=False) as pipe:
                for record in records:
                    pipe.xadd(key, {"r": orjson.dumps(record)}, maxlen=LOG_MAX_ENTRIES, approximate=True)
                await pipe.execute()

    async def _ensure_group(self, key: str) -> None:
        if key in self._groups_ready:
            return
        try:
            await self.client.xgroup_create(key, LEARNER_GROUP, id="0", mkstream=True)
        except redis_errors.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._groups_ready.add(key)

    async def read_labels(
        self, site: str, count: int, block_ms: int, pending: bool = False
    ) -> list[tuple[str, dict[str, Any]]]:
        key = self._site_key(site, "labels")
        with _guarded():
            await self._ensure_group(key)
            reply: Any = await self.client.xreadgroup(
                LEARNER_GROUP,
                "learner",
                {key: "0" if pending else ">"},
                count=count,
                block=None if pending or not block_ms else block_ms,
            )
        return [
            (entry_id.decode(), orjson.loads(fields[b"r"]))
            for _, entries in (reply or [])
            for entry_id, fields in entries
            if fields
        ]

    async def commit_learning(
        self,
        site: str,
        model: bytes,
        learner_state: bytes,
        version: int,
        quality: Mapping[str, Any],
        label_ids: Sequence[str],
    ) -> None:
        with _guarded():
            async with self.client.pipeline(transaction=True) as pipe:  # MULTI: all of it or none
                pipe.hset(
                    self._site_key(site, "model"),
                    mapping={
                        "version": version,
                        "model": model,
                        "quality": orjson.dumps(quality),
                        "state": learner_state,
                    },
                )
                if label_ids:
                    pipe.xack(self._site_key(site, "labels"), LEARNER_GROUP, *label_ids)
                    pipe.xdel(self._site_key(site, "labels"), *label_ids)
                await pipe.execute()

    async def model_version(self, site: str) -> int | None:
        with _guarded():
            version = await self.client.hget(self._site_key(site, "model"), "version")
        return None if version is None else int(version)

    async def get_model(self, site: str) -> tuple[int, bytes, dict[str, Any]] | None:
        with _guarded():
            reply: Any = await self.client.hmget(self._site_key(site, "model"), ["version", "model", "quality"])
        version, model, quality = reply
        if version is None or model is None:
            return None
        return int(version), bytes(model), orjson.loads(quality or b"{}")

    async def learner_state(self, site: str) -> bytes | None:
        with _guarded():
            state: Any = await self.client.hget(self._site_key(site, "model"), "state")
        return None if state is None else bytes(state)

    # -- sites -----------------------------------------------------------------------------

    async def get_site_config(self, site: str) -> dict[str, Any] | None:
        with _guarded():
            raw = await self.client.get(f"{self.prefix}:site:{site}")
        return None if raw is None else dict(orjson.loads(raw))

    async def put_site_config(self, site: str, document: dict[str, Any]) -> None:
        with _guarded():
            await self.client.set(f"{self.prefix}:site:{site}", orjson.dumps(document))
            await self.client.sadd(f"{self.prefix}:sites", site)

    async def list_sites(self) -> list[str]:
        with _guarded():
            members = await self.client.smembers(f"{self.prefix}:sites")
            return sorted(site.decode() if isinstance(site, bytes) else site for site in members)

    async def flush(self) -> None:
        return None  # every write is already in Redis

    def chat_bus(self) -> RedisChatBus:
        return RedisChatBus(self.client, self.prefix)

    async def ping(self) -> None:
        with _guarded():
            await self.client.ping()

    async def close(self) -> None:
        if isinstance(self._collect, AutoPipeline):
            await self._collect.close()
        await self.client.aclose()

    # -- chat: agents, chats, transcripts, webhooks (api/chat) ------------------------------
    # All under the site's own hash tag, ``{site}``: one chat's keys share a Cluster slot.

    async def put_record(self, site: str, kind: str, key: str, document: Mapping[str, Any]) -> None:
        with _guarded():
            await self.client.hset(self._site_key(site, f"r:{kind}"), key, orjson.dumps(document))

    async def get_record(self, site: str, kind: str, key: str) -> dict[str, Any] | None:
        with _guarded():
            raw: Any = await self.client.hget(self._site_key(site, f"r:{kind}"), key)
        return None if raw is None else dict(orjson.loads(raw))

    async def list_records(self, site: str, kind: str) -> dict[str, dict[str, Any]]:
        with _guarded():
            raw: dict[bytes, bytes] = await self.client.hgetall(self._site_key(site, f"r:{kind}"))  # type: ignore[assignment]
        return {key.decode(): orjson.loads(value) for key, value in raw.items()}

    async def drop_record(self, site: str, kind: str, key: str) -> None:
        with _guarded():
            await self.client.hdel(self._site_key(site, f"r:{kind}"), key)

    async def update_record(self, site: str, kind: str, key: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        # Merged here, swapped in by the script only if the record is still the one read: Lua's cjson would
        # re-encode the rest of the document (an empty list as {}, long numbers rounded to 14 digits).
        records = self._site_key(site, f"r:{kind}")
        with _guarded():
            raw: Any = await self.client.hget(records, key)
            for _ in range(RECORD_UPDATE_ATTEMPTS):
                if raw is None:
                    return None
                document = orjson.dumps(orjson.loads(raw) | dict(fields))
                swapped: Any = await self._chat_script("update_record")(keys=[records], args=[key, raw, document])
                if swapped == 1:
                    return dict(orjson.loads(document))
                raw = None if swapped == 0 else swapped  # gone, or someone else's newer version
        raise StoreUnavailable(f"record {kind}/{key} kept changing under {RECORD_UPDATE_ATTEMPTS} updates")

    async def append_entry(
        self, site: str, log: str, entry: Mapping[str, Any], dedup: str | None = None
    ) -> tuple[int, bool]:
        keys = [self._site_key(site, f"l:{log}{part}") for part in ("", ":d", ":t")]
        with _guarded():
            entry_id, duplicate = await self._chat_script("append")(keys=keys, args=[orjson.dumps(entry), dedup or ""])
        if self._wait_replicas:
            await self._replicated(site)  # a resend too: its first append may not have reached a replica yet
        return int(entry_id), bool(duplicate)

    async def _replicated(self, site: str) -> None:
        """Until the replicas of the site's master have every write it answered so far (or the wait is over).

        WAIT counts the writes of its own connection, and redis-py sends a keyless WAIT to every master
        of a Cluster: so one write on the site's slot and the WAIT go down one connection to its master.
        Replication is in order, so that write's offset covers the message appended before it. It waits
        for the replicas connected now, at most ``wait_replicas``: a master left without one (its replica
        down, or a replica just promoted) answers at once rather than after every message's wait. A failure
        here leaves the message unacknowledged: the sender resends it, and the append is once per cid.
        """
        key = self._site_key(site, "replicated")
        try:
            with _guarded():
                wanted = min(self._wait_replicas, await self._connected_replicas(key))
                if not wanted:
                    return
                _, acknowledged = await self._on_master(key, ("INCR", key), ("WAIT", wanted, self._replica_wait_ms))
        except redis_errors.ResponseError as error:  # MOVED, a replica now: the map is behind a failover
            raise StoreUnavailable(f"the site's master changed: {error}") from error
        if int(acknowledged) < wanted:
            self._replicas_seen.clear()  # one went away: count them again next time
            log.warning(
                "a chat message reached %s of %s replicas within %s ms; acknowledged anyway",
                acknowledged,
                wanted,
                self._replica_wait_ms,
            )

    async def _connected_replicas(self, key: str) -> int:
        """How many replicas the master of ``key`` has now (INFO replication), asked again after a second, by
        one caller at a time."""
        name = self._master_name(key)
        seen = self._replicas_seen.get(name)
        if seen is None or time.monotonic() - seen[1] > REPLICA_COUNT_TTL_S:
            async with self._counting:
                seen = self._replicas_seen.get(name)
                if seen is None or time.monotonic() - seen[1] > REPLICA_COUNT_TTL_S:
                    (info,) = await self._on_master(key, ("INFO", "replication"))
                    if isinstance(info, dict):  # parsed by the client (one Redis); raw from a Cluster node
                        count = int(info.get("connected_slaves", 0))
                    else:
                        found = re.search(rb"^connected_slaves:(\d+)", info, re.MULTILINE)
                        count = int(found.group(1)) if found else 0
                    seen = self._replicas_seen[name] = (count, time.monotonic())
        return seen[0]

    def _master_name(self, key: str) -> str:
        if isinstance(self.client, aioredis.Redis):
            return ""
        node = self.client.get_node_from_key(key)
        return "" if node is None else str(node.name)

    async def _on_master(self, key: str, *commands: tuple[Any, ...]) -> list[Any]:
        """``commands`` down one connection to the master serving ``key``, their raw replies in order."""
        if isinstance(self.client, aioredis.Redis):
            async with self.client.pipeline(transaction=False) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                return list(await pipe.execute())
        node: Any = self.client.get_node_from_key(key)
        if node is None:
            raise StoreUnavailable(f"no master known for {key}")
        connection = node.acquire_connection()  # one of the Cluster client's own, released after
        try:
            await connection.send_packed_command(connection.pack_commands(commands))
            replies = [await connection.read_response() for _ in commands]
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            node.release(connection)
        for reply in replies:
            if isinstance(reply, redis_errors.ResponseError):
                raise reply
        return replies

    async def read_entries(
        self, site: str, log: str, after: int = 0, limit: int = 1000
    ) -> list[tuple[int, dict[str, Any]]]:
        keys = [self._site_key(site, f"l:{log}"), self._site_key(site, f"l:{log}:t")]
        with _guarded():
            first, raw = await self._chat_script("read_entries")(keys=keys, args=[after, limit])
        return [(int(first) + i, orjson.loads(value)) for i, value in enumerate(raw)]

    async def trim_entries(self, site: str, log: str, upto: int) -> None:
        keys = [self._site_key(site, f"l:{log}"), self._site_key(site, f"l:{log}:t")]
        with _guarded():
            await self._chat_script("trim_entries")(keys=keys, args=[upto])

    async def drop_log(self, site: str, log: str) -> None:
        with _guarded():
            await self.client.delete(
                self._site_key(site, f"l:{log}"), self._site_key(site, f"l:{log}:d"), self._site_key(site, f"l:{log}:t")
            )

    async def push_recent(self, site: str, name: str, entry: Mapping[str, Any], keep: int) -> None:
        with _guarded():
            await self._chat_script("push_recent")(
                keys=[self._site_key(site, f"n:{name}")], args=[orjson.dumps(entry), keep]
            )

    async def read_recent(self, site: str, name: str) -> list[dict[str, Any]]:
        with _guarded():
            raw: Any = await self.client.lrange(self._site_key(site, f"n:{name}"), 0, -1)
        return [orjson.loads(value) for value in raw]

    async def bounded_add(self, site: str, name: str, delta: int, limit: int | None = None) -> int | None:
        with _guarded():
            value = await self._chat_script("bounded_add")(
                keys=[self._site_key(site, f"c:{name}")], args=[delta, -1 if limit is None else limit]
            )
        return None if int(value) < 0 else int(value)

    async def put_counter(self, site: str, name: str, value: int) -> None:
        with _guarded():
            await self.client.set(self._site_key(site, f"c:{name}"), max(0, value))

    async def compare_and_set(self, site: str, name: str, expected: str | None, new: str | None) -> bool:
        with _guarded():
            done = await self._chat_script("compare_and_set")(
                keys=[self._site_key(site, f"k:{name}")],
                args=[expected or "", 0 if expected is None else 1, new or "", 0 if new is None else 1],
            )
        return bool(done)

    async def get_value(self, site: str, name: str) -> str | None:
        with _guarded():
            raw: Any = await self.client.get(self._site_key(site, f"k:{name}"))
        return None if raw is None else bytes(raw).decode()

    async def claim(self, site: str, name: str, holder: str, ttl_ms: int, now_ms: int) -> bool:
        with _guarded():
            held = await self._chat_script("claim")(
                keys=[self._site_key(site, f"lease:{name}")], args=[holder, now_ms + ttl_ms, now_ms, ttl_ms]
            )
        return bool(held)

    _chat_scripts: dict[str, Any] | None = None

    def _chat_script(self, name: str) -> Any:
        if self._chat_scripts is None:  # registered on first use: the collect path never needs them
            self._chat_scripts = {script: self.client.register_script(source) for script, source in _CHAT_LUA.items()}
        return self._chat_scripts[name]

    # -- marketers (#7): config versions, the decision journal, agent-load samples ------------
    # Site-wide keys under the site's own hash tag. A version number is claimed with HSETNX, so two
    # admins saving at once cannot both become version N; the current document follows the claim.

    async def save_config_version(
        self, site: str, version: int, document: dict[str, Any], meta: Mapping[str, Any]
    ) -> bool:
        with _guarded():
            claimed = await self.client.hsetnx(
                self._site_key(site, "config:versions"),
                str(version),
                orjson.dumps({**meta, "version": version, "document": document}),
            )
        if not claimed:
            return False
        await self.put_site_config(site, document)
        return True

    async def config_versions(self, site: str) -> list[dict[str, Any]]:
        with _guarded():
            raw: dict[bytes, bytes] = await self.client.hgetall(  # type: ignore[assignment]
                self._site_key(site, "config:versions")
            )
        versions = sorted((orjson.loads(value) for value in raw.values()), key=lambda v: int(v["version"]))
        return [{k: v for k, v in version.items() if k != "document"} for version in versions]

    async def config_version(self, site: str, version: int) -> dict[str, Any] | None:
        with _guarded():
            raw = await self.client.hget(self._site_key(site, "config:versions"), str(version))
        return None if raw is None else dict(orjson.loads(raw))

    async def append_journal(self, site: str, records: Sequence[Mapping[str, Any]]) -> None:
        if not records:
            return
        key = self._site_key(site, "journal")
        with _guarded():
            async with self.client.pipeline(transaction=False) as pipe:
                # Members are the records themselves: the same record from two workers is kept once.
                pipe.zadd(
                    key, {orjson.dumps(record, option=orjson.OPT_SORT_KEYS): int(record["ts"]) for record in records}
                )
                pipe.zremrangebyrank(key, 0, -JOURNAL_MAX_RECORDS - 1)
                await pipe.execute()

    async def read_journal(self, site: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        with _guarded():
            members: list[bytes] = await self.client.zrangebyscore(  # type: ignore[assignment]
                self._site_key(site, "journal"), start_ms, end_ms
            )
        return [orjson.loads(member) for member in members]

    async def put_load_sample(self, site: str, at_ms: int, sample: Mapping[str, Any]) -> None:
        minute = at_ms - at_ms % LOAD_SAMPLE_MS
        key = self._site_key(site, "load")
        with _guarded():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, minute, minute)
                pipe.zremrangebyscore(key, "-inf", minute - LOAD_MAX_AGE_MS)
                pipe.zadd(key, {orjson.dumps({**sample, "at_ms": minute}): minute})
                await pipe.execute()

    async def read_load_samples(self, site: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        with _guarded():
            members: list[bytes] = await self.client.zrangebyscore(  # type: ignore[assignment]
                self._site_key(site, "load"), f"({start_ms - LOAD_SAMPLE_MS}", end_ms
            )
        return [orjson.loads(member) for member in members]


# A log is a list (KEYS[1]) and how many entries were trimmed off its head (KEYS[3] here, KEYS[2] below:
# absent until the first trim): an entry's id is its place in the list plus that count, so ids stay put.
_APPEND_ENTRY_LUA = """
if ARGV[2] ~= '' then
  local seen = redis.call('HGET', KEYS[2], ARGV[2])
  if seen then return {tonumber(seen), 1} end
end
local id = redis.call('RPUSH', KEYS[1], ARGV[1]) + tonumber(redis.call('GET', KEYS[3]) or '0')
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[2], id) end
return {id, 0}
"""

# The entries after id ARGV[1] (at most ARGV[2]), and the id of the first of them.
_READ_ENTRIES_LUA = """
local trimmed = tonumber(redis.call('GET', KEYS[2]) or '0')
local start = math.max(tonumber(ARGV[1]) - trimmed, 0)
return {trimmed + start + 1, redis.call('LRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)}
"""

# Entries up to id ARGV[1] off the head: those not trimmed already, never more than there are.
_TRIM_ENTRIES_LUA = """
local trimmed = tonumber(redis.call('GET', KEYS[2]) or '0')
local count = math.min(tonumber(ARGV[1]) - trimmed, redis.call('LLEN', KEYS[1]))
if count <= 0 then return 0 end
redis.call('LTRIM', KEYS[1], count, -1)
redis.call('SET', KEYS[2], trimmed + count)
return count
"""

_PUSH_RECENT_LUA = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
"""

_BOUNDED_ADD_LUA = """
local value = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])
if value < 0 then value = 0 end
local limit = tonumber(ARGV[2])
if limit >= 0 and tonumber(ARGV[1]) > 0 and value > limit then return -1 end
redis.call('SET', KEYS[1], value)
return value
"""

_COMPARE_AND_SET_LUA = """
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '1' then
  if current ~= ARGV[1] then return 0 end
elseif current then return 0 end
if ARGV[4] == '1' then redis.call('SET', KEYS[1], ARGV[3]) else redis.call('DEL', KEYS[1]) end
return 1
"""

# A record replaced only while it is the version the caller read (ARGV[2]): 1 when written, 0 when the
# record is gone (dropped meanwhile: it stays so), else the record as it is now, for the caller to retry on.
_UPDATE_RECORD_LUA = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
if current ~= ARGV[2] then return current end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# A lease is "holder until", by the caller's clock (``now_ms``), as in the memory store. Redis expires
# the key a lease later still, so that its own clock ends no lease early and finished ones go.
_CLAIM_LUA = """
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ' ', 1, true)
  local holder, until_ms = current, math.huge  -- a lease written without its end: until the key expires
  if sep then holder, until_ms = string.sub(current, 1, sep - 1), tonumber(string.sub(current, sep + 1)) end
  if holder ~= ARGV[1] and until_ms > tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', 2 * tonumber(ARGV[4]))
return 1
"""

_CHAT_LUA = {
    "append": _APPEND_ENTRY_LUA,
    "read_entries": _READ_ENTRIES_LUA,
    "trim_entries": _TRIM_ENTRIES_LUA,
    "push_recent": _PUSH_RECENT_LUA,
    "bounded_add": _BOUNDED_ADD_LUA,
    "compare_and_set": _COMPARE_AND_SET_LUA,
    "update_record": _UPDATE_RECORD_LUA,
    "claim": _CLAIM_LUA,
}
