"""Where state lives: one ``Store`` protocol, a memory and a Redis implementation."""

from tracker.store.base import IngestResult, LogEntry, Store, StoreUnavailable, shard_of
from tracker.store.memory import MemoryStore
from tracker.store.redis import RedisStore

__all__ = ["IngestResult", "LogEntry", "MemoryStore", "RedisStore", "Store", "StoreUnavailable", "shard_of"]
