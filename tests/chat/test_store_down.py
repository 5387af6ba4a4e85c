"""Redis down when a visitor accepts or an agent signs in: both are told to try again (the panel's handshake
gets 503, the console's socket closes with 1013), nothing crashes, and the chat opens once Redis is back."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
import websockets

from loadtests.redis_server import start_redis
from tests.chat.conftest import Served, Socket, fast_settings, serve

pytestmark = pytest.mark.redis


async def _bus_back(served: Served) -> None:
    """Until this worker's chat bus has resubscribed: an offer published before that would be lost (the
    bus only says "something happened"; a console gets the offers it missed when it connects)."""
    subscription = served.chat.bus.subscribe()
    subscription.follow("probe")
    try:
        for _ in range(50):
            with contextlib.suppress(Exception):
                await served.chat.bus.publish("probe", {"type": "probe"})
                await asyncio.wait_for(subscription.get(), 0.2)
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the chat bus never resubscribed")
    finally:
        subscription.close()


async def _signed_in(served: Served, token: str) -> Socket:
    """The console's reconnect loop: the first commands after a restart may meet stale pooled connections,
    which the server answers with "try again later" (1013)."""
    for _ in range(10):
        try:
            return await served.agent(token)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1013
            await asyncio.sleep(0.2)
    raise AssertionError("the console never signed in again")


async def test_accept__redis_down__try_again_later_then_the_chat_opens(tmp_path: Path) -> None:
    server = start_redis("--appendonly", "yes", "--appendfsync", "always")  # what it held survives
    try:
        async with serve(fast_settings(tmp_path, redis_url=server.url, redis_shards=4)) as served:
            _, token = await served.agent_token("Ada")
            agent = await served.agent(token)
            visitor_id, invite = await served.invite()
            await agent.close()

            server.stop()
            with pytest.raises(websockets.InvalidStatus, match="503"):
                await served.visitor(visitor_id, invite)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await served.agent(token)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013

            server.start()
            await _bus_back(served)
            agent = await _signed_in(served, token)
            visitor = await served.visitor(visitor_id, invite)
            assert (await visitor.until(lambda f: f["type"] == "state"))["state"] == "waiting"
            assert (await agent.until(lambda f: f["type"] == "offer", timeout=5))["chat"]["id"] == invite
    finally:
        server.stop()
