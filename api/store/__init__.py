"""Where state lives: small ports (``api.store.base``), their union ``Store``, a memory and a Redis adapter."""

from api.store.base import (
    ChatRecords,
    ExpiringTables,
    IngestResult,
    Journal,
    LabelStream,
    Lifecycle,
    LogEntry,
    ModelRegistry,
    SiteConfigs,
    Store,
    StoreUnavailable,
    VisitorLog,
    shard_of,
)
from api.store.memory import MemoryStore
from api.store.redis import RedisStore

__all__ = [
    "ChatRecords",
    "ExpiringTables",
    "IngestResult",
    "Journal",
    "LabelStream",
    "Lifecycle",
    "LogEntry",
    "MemoryStore",
    "ModelRegistry",
    "RedisStore",
    "SiteConfigs",
    "Store",
    "StoreUnavailable",
    "VisitorLog",
    "shard_of",
]
