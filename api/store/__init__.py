"""Where state lives: one ``Store`` protocol, a memory and a Redis implementation."""

from api.store.base import IngestResult, LogEntry, Store, StoreUnavailable, shard_of
from api.store.memory import MemoryStore
from api.store.redis import RedisStore

__all__ = ["IngestResult", "LogEntry", "MemoryStore", "RedisStore", "Store", "StoreUnavailable", "shard_of"]
