"""Collect script calls over one connection of their own, pipelined as they come.

Under load a worker has many collects waiting on Redis at once. Through redis-py's client each
call, or each explicit pipeline of calls, pays a pool checkout and return, a Pipeline object,
retry and timeout wrapping and a parser layer per reply: about a third of a collect's Redis
cost in the worker (measured: 140 against 95 us per collect, under uvloop, on a slow machine).
Here the calls share one connection: a call goes out at once when nothing is on its way, and
otherwise with every other call made in the same event-loop turn, in one write; Redis answers in
order, and each answer settles its caller's future as soon as its bytes arrive, so one slow
batch never holds the others back. Every collect still costs Redis exactly one script call,
atomic on its own; a failing script fails only its own caller.

The connection is one of the client's pool, opened by redis-py (TCP, TLS or a Unix socket, AUTH,
SELECT, HELLO: whatever the client's URL asks for) and kept checked out; this module takes over its
transport, and closing the client closes it. Failures:

- the connection drops: every call on its way fails with ``ConnectionError``; the next call
  opens a new connection;
- Redis stops answering: when no answer has arrived for ``timeout_s`` while calls wait, the
  connection is aborted and they fail with ``TimeoutError``; one timer checks each interval, not one
  per call, so a call fails after one to two intervals of silence;
- an answer with no call waiting for it (a desynchronised stream): the connection is dropped;
- Redis lost its script cache (a restart, ``SCRIPT FLUSH``): the call is redone once as ``EVAL``
  with the script's text, which caches it again.

The store maps all of these to ``StoreUnavailable`` (a 503 the tracker retries).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis._parsers import BaseParser

TIMEOUT_S = 2.0
_NOT_ENOUGH_DATA = object()
"""What the reader gives when no whole reply is buffered (its default, False, is also a RESP3 reply)."""
_PUSH: Any = getattr(hiredis, "PushNotification", ())
"""RESP3 push messages, which redis-py 8's default protocol lets Redis send unasked."""


class _Link(asyncio.Protocol):
    """One Redis connection's transport and the futures of the calls it has sent, in order."""

    def __init__(
        self,
        timeout_s: float,
        on_close: Callable[[_Link], None],
        count: Callable[[], None],
        connection: Any,
        previous: asyncio.BaseProtocol,
    ) -> None:
        self.transport: asyncio.Transport | None = None
        self.connection = connection
        """redis-py's connection, whose transport this link took over: closing it closes the link."""
        self._previous = previous
        """The transport's protocol before: it hears of the close too, for the connection's own wait on it."""
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.reader = hiredis.Reader(
            protocolError=redis_errors.InvalidResponse,
            replyError=BaseParser.parse_error,
            notEnoughData=_NOT_ENOUGH_DATA,
        )
        self.closed: BaseException | None = None
        self._timeout_s = timeout_s
        self._on_close = on_close
        self._count = count
        self._queued: list[bytes] = []
        self._answers = 0  # replies so far: the watchdog's sign of life
        self._watchdog: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()

    # -- sending --------------------------------------------------------------------------

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        future = self._loop.create_future()
        if self.closed is not None:
            future.set_exception(self.closed)
            return future
        self.waiting.append(future)
        if self._watchdog is None:
            self._arm(self._answers)
        if len(self.waiting) == 1 and not self._queued:
            self._write([packed])  # nothing else on its way: no reason to wait for company
        else:
            if not self._queued:
                self._loop.call_soon(self._flush)
            self._queued.append(packed)
        return future

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        if queued and self.closed is None:
            self._write(queued)

    def _write(self, chunks: list[bytes]) -> None:
        assert self.transport is not None
        self._count()
        try:
            self.transport.writelines(chunks)
        except Exception as error:  # a transport closing under us: fail the calls, never lose them
            self.fail(redis_errors.ConnectionError(f"writing to Redis failed: {error!r}"))

    # -- answers --------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        while (reply := self.reader.gets()) is not _NOT_ENOUGH_DATA:
            if isinstance(reply, _PUSH):
                continue  # RESP3 out-of-band news (invalidations, maintenance notices): no call's answer
            if not waiting:
                self.fail(redis_errors.ConnectionError("Redis answered a call that was not made"))
                return
            self._answers += 1
            future = waiting.popleft()
            if future.done():
                continue  # its caller gave up (a cancelled request); the answer is in order all the same
            if isinstance(reply, redis_errors.RedisError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    # -- failures -------------------------------------------------------------------------

    def _arm(self, answers: int) -> None:
        self._watchdog = self._loop.call_later(self._timeout_s, self._check, answers)

    def _check(self, answers_then: int) -> None:
        self._watchdog = None
        if not self.waiting:
            return
        if self._answers == answers_then:
            self.fail(redis_errors.TimeoutError(f"Redis did not answer within {self._timeout_s} s"))
        else:
            self._arm(self._answers)

    def fail(self, error: BaseException) -> None:
        """Close the connection; every call on its way fails with ``error``."""
        if self.closed is None:
            self.closed = error
            self._on_close(self)
            if self.transport is not None:
                self.transport.abort()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(self.closed or redis_errors.ConnectionError(f"connection to Redis lost: {exc or 'closed'}"))
        self._previous.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return False  # close the transport: Redis hung up


class AutoPipeline:
    """Calls of one Lua script (``client.register_script``), pipelined on a connection of their own."""

    def __init__(
        self,
        client: aioredis.Redis,
        script: Any,
        timeout_s: float = TIMEOUT_S,
        count: Callable[[], None] = lambda: None,
    ) -> None:
        """``count`` is called once per write to Redis (a round trip, however many calls it carries)."""
        self.client = client
        self.script = script
        self.timeout_s = timeout_s
        self._count = count
        self._link: _Link | None = None
        self._spent: Any = None  # a failed link's connection, to give back to the pool
        self._opening: asyncio.Future[_Link] | None = None
        self._shut = False

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        if self._shut:
            raise redis_errors.ConnectionError("the store was closed")
        link = self._link or await self._connected()  # no coroutine to make when it is open, as it mostly is
        try:
            return await link.send(hiredis.pack_command(("EVALSHA", self.script.sha, len(keys), *keys, *args)))
        except redis_errors.NoScriptError:
            # EVAL with the whole text runs it and caches it again: the next calls find it by its sha.
            return await (await self._connected()).send(
                hiredis.pack_command(("EVAL", self.script.script, len(keys), *keys, *args))
            )

    async def _connected(self) -> _Link:
        if self._link is not None:
            return self._link
        if self._opening is None:  # the first caller opens it; those arriving meanwhile wait for the same
            self._opening = asyncio.ensure_future(self._open())
            self._opening.add_done_callback(self._opened)
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if opening.cancelled() and not (task is not None and task.cancelling()):
                # close() stopped the opening; this caller was not cancelled: a store outage, not a cancel
                raise redis_errors.ConnectionError("the store was closed") from None
            raise

    def _opened(self, opening: asyncio.Future[_Link]) -> None:
        self._opening = None
        if not opening.cancelled() and opening.exception() is None:
            self._link = opening.result()

    async def _open(self) -> _Link:
        pool = self.client.connection_pool
        if self._spent is not None:  # the connection of a link that failed: closed, back to the pool
            spent, self._spent = self._spent, None
            with contextlib.suppress(Exception):
                await spent.disconnect()
            await pool.release(spent)
        # Checked out for good: the pool still owns it, so closing the client closes it. redis-py opened it
        # with its own handshake (TLS, AUTH, SELECT, HELLO, client name, whatever the URL asks for).
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        writer = getattr(connection, "_writer", None)
        if writer is None:
            await pool.release(connection)
            raise RuntimeError(
                "redis-py's connection no longer exposes its stream writer; "
                "AutoPipeline needs updating for this redis-py version"
            )
        link = _Link(self.timeout_s, self._closed, self._count, connection, writer.transport.get_protocol())
        writer.transport.set_protocol(link)
        link.connection_made(writer.transport)
        return link

    def _closed(self, link: _Link) -> None:
        if self._link is link:
            self._link = None
        self._spent = link.connection

    async def close(self) -> None:
        """Calls on their way and later ones fail with ``ConnectionError`` (``StoreUnavailable``)."""
        self._shut = True
        if self._opening is not None:
            self._opening.cancel()
        if self._link is not None:
            self._link.fail(redis_errors.ConnectionError("the store was closed"))
