"""How chat events reach every worker: a small publish/subscribe ``ChatBus``.

A chat's visitor and agent may hold WebSockets on different workers. Messages
themselves are stored (``ChatRecords.append_entry``, with ids); the bus only says
"something happened on channel X" (a new message id, typing, a state change, an
offer), and each connection reads what it has not sent yet from the store. So a
lost notification delays nothing by more than the next one, and a reconnecting
client resumes from its last id without loss or duplicates.

``MemoryChatBus`` serves one process. ``RedisChatBus`` publishes through Redis
and listens with one pattern subscription per worker, fanning out locally. Each
store adapter makes the one that reaches its workers (``Store.chat_bus()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any, Protocol, cast

import orjson
import redis.asyncio as aioredis

log = logging.getLogger("tactful.chat.bus")

QUEUE_LIMIT = 1000
"""Events waiting for one slow connection; past this it is closed rather than let memory grow."""


class Subscription:
    """One connection's view of the bus: the channels it follows and the events that arrived."""

    def __init__(self, fanout: Fanout) -> None:
        self._fanout = fanout
        self.channels: set[str] = set()
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = False

    def follow(self, *channels: str) -> None:
        for channel in channels:
            self.channels.add(channel)
            self._fanout.listeners[channel].add(self)

    def unfollow(self, channel: str) -> None:
        self.channels.discard(channel)
        listeners = self._fanout.listeners.get(channel)
        if listeners is not None:
            listeners.discard(self)
            if not listeners:
                del self._fanout.listeners[channel]

    async def get(self) -> tuple[str, dict[str, Any]]:
        return await self.queue.get()

    def close(self) -> None:
        for channel in list(self.channels):
            self.unfollow(channel)


class Fanout:
    """Local delivery to the subscriptions of this process."""

    def __init__(self) -> None:
        self.listeners: defaultdict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self) -> Subscription:
        return Subscription(self)

    def deliver(self, channel: str, event: dict[str, Any]) -> None:
        for subscription in list(self.listeners.get(channel, ())):
            try:
                subscription.queue.put_nowait((channel, event))
            except asyncio.QueueFull:
                subscription.overflowed = True

    def catch_up(self) -> None:
        """Every chat followed here reads its log again: events published while the bus was not listening
        are gone, and a socket sends only what it has not sent yet, so this loses and doubles nothing."""
        for channel in list(self.listeners):
            if channel.startswith("chat:"):
                self.deliver(channel, {"type": "msg"})


class ChatBus(Protocol):
    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    def subscribe(self) -> Subscription: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class MemoryChatBus:
    def __init__(self) -> None:
        self._fanout = Fanout()

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        self._fanout.deliver(channel, event)

    def subscribe(self) -> Subscription:
        return self._fanout.subscribe()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisChatBus:
    """Every worker listens to ``{prefix}:bus:*`` on one connection and fans out to its sockets.

    Chat traffic is small next to collect traffic, so each worker seeing every chat event
    is cheaper than a subscription per socket.

    On a Cluster every node hears every PUBLISH, so the subscription may sit on any node. redis-py puts
    it on the master of the pattern's slot as it last knew the slot map, which after a failover can be
    the dead master for as long as nothing else refreshes the map: so each new attempt after a lost
    subscription takes the next node the client knows. Once subscribed again, every chat followed here
    catches up from its log (``Fanout.catch_up``).
    """

    def __init__(self, client: aioredis.Redis | aioredis.RedisCluster, prefix: str) -> None:
        self.client = client
        self.prefix = f"{prefix}:bus:"
        self._fanout = Fanout()
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self._ready = asyncio.Event()

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        await self.client.publish(self.prefix + channel, orjson.dumps(event))

    def subscribe(self) -> Subscription:
        return self._fanout.subscribe()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="chat bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 5.0)

    def _new_pubsub(self, attempt: int) -> Any:
        if attempt and isinstance(self.client, aioredis.RedisCluster):
            nodes = self.client.get_nodes()
            if nodes:
                return self.client.pubsub(node=nodes[attempt % len(nodes)])
        return self.client.pubsub()

    async def _listen(self) -> None:
        attempt = 0
        while True:
            pubsub = self._new_pubsub(attempt)
            self._pubsub = pubsub
            try:
                await pubsub.psubscribe(self.prefix + "*")
                if attempt:
                    log.info("chat bus subscribed again; open chats catch up from their logs")
                    self._fanout.catch_up()
                self._ready.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    channel = message["channel"].decode()[len(self.prefix) :]
                    self._fanout.deliver(channel, orjson.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a dropped connection: resubscribe; stored messages are not lost
                attempt += 1
                log.warning("chat bus lost its Redis subscription (%s); resubscribing", error)
                await cast(Any, pubsub).aclose()  # typed in some redis-py 8 releases, not in others
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        if self._listener is not None:
            while not self._listener.done():  # cancel until done (see api/periodic.py)
                self._listener.cancel()
                await asyncio.wait({self._listener}, timeout=0.5)
        if self._pubsub is not None:
            await self._pubsub.aclose()
