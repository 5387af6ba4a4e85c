"""Rate limits: token buckets per key (client IP, visitor, socket), kept in this worker's memory.

Each worker keeps its own buckets, so with N workers behind a balancer a client
gets up to N times the configured rate in the worst case: the limits are there
to stop floods, not to meter fairly. The bucket table is an LRU capped at
``max_keys``: a flood of new keys evicts the least recently used buckets, it
cannot exhaust memory. An evicted bucket that comes back starts full again,
which is what it would hold anyway once idle for ``burst / rate`` seconds.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``rate`` requests per second on average, ``burst`` at once, per key. ``rate`` 0 turns it off."""

    def __init__(
        self, rate: float, burst: float, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """0 if ``key`` may go now (a token is spent), else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def retry_after(wait_s: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))


class CollectLimits:
    """The collect endpoint's two limits: per client IP (before the body is read) and per visitor."""

    def __init__(self, per_ip: RateLimiter, per_visitor: RateLimiter) -> None:
        self.per_ip = per_ip
        self.per_visitor = per_visitor

    def ip(self, address: str | None) -> float:
        return self.per_ip.take(address or "-")

    def visitor(self, site: str, visitor: str) -> float:
        return self.per_visitor.take(f"{site}\x00{visitor}")


# -- WebSockets -------------------------------------------------------------------------------

CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008


class SocketLimits:
    """One socket's incoming frames: at most ``max_bytes`` each and ``rate`` per second (``burst`` at once).

    ``receive_json`` replaces ``WebSocket.receive_json``: an oversized frame closes the socket with
    1009, a client sending faster than the limit is closed with 1008 (both then raise
    ``WebSocketDisconnect``, as a client hanging up would). The browser reconnects and resends its
    unacknowledged messages, which the store appends once.
    """

    def __init__(
        self,
        max_bytes: int = 16_384,
        rate: float = 20.0,
        burst: float = 40.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self._bucket = RateLimiter(rate, burst, max_keys=1, clock=clock)

    async def receive_json(self, socket: WebSocket) -> Any:
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        raw: str | bytes = message.get("text") or message.get("bytes") or b""
        if len(raw) > self.max_bytes:  # characters for text: a close enough bound, and cheaper than encoding
            await _close(socket, CLOSE_TOO_BIG, f"frames are limited to {self.max_bytes} bytes")
        if self._bucket.take("socket") > 0:
            await _close(socket, CLOSE_POLICY, "too many messages; slow down")
        return orjson.loads(raw)


async def _close(socket: WebSocket, code: int, reason: str) -> None:
    await socket.close(code, reason)
    raise WebSocketDisconnect(code, reason)
