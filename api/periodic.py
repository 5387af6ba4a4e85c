"""Background work on an interval: cache refreshes and buffered writes, one shape for all of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from api.store import StoreUnavailable

log = logging.getLogger("tactful.periodic")


class Periodic:
    """Runs ``work`` every ``interval_s`` until stopped; a store outage is logged and retried, never fatal."""

    def __init__(self, name: str, work: Callable[[], Awaitable[object]], interval_s: float) -> None:
        self.name = name
        self.work = work
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.work()
            except StoreUnavailable as error:
                log.warning("%s skipped, store unavailable: %s", self.name, error)
            except Exception:
                log.exception("%s failed; trying again in %.1f s", self.name, self.interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            # A Redis client can turn a cancellation mid-command into a connection error, which the
            # loop survives: cancel again until it has really stopped.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=0.5)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
