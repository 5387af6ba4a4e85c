"""Chat tests run the real app under uvicorn in the test's event loop, on both stores.

Real WebSockets (the ``websockets`` client), real HTTP (httpx), short timeouts from
settings: a connection can really drop, and two apps on one Redis are two workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
import websockets
from fastapi import FastAPI

from api import Settings, create_app
from api.learning.learner import Learner
from api.store import MemoryStore
from tests.api.conftest import delete_prefix
from tests.api.shopping import ORIGIN as ORIGIN

ADMIN = "admin-token-for-chat-tests"
_ids = itertools.count()


def fast_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "public_url": ORIGIN,
        "demo": True,
        "data_dir": data_dir,
        "admin_token": ADMIN,
        "agent_offer_timeout_s": 0.8,
        "chat_queue_wait_s": 1.0,
        "agent_heartbeat_s": 0.2,
        "agent_presence_ttl_s": 0.8,
        "agent_grace_s": 0.6,
        "webhook_backoff_s": 0.1,
        "availability_refresh_s": 0.2,
    } | overrides
    return Settings(**values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def record_invite(
    store: Any, now_ms: int, visitor: str | None = None, reasons: tuple[str, ...] = ("form_errors",)
) -> tuple[str, str]:
    """An agent invitation as the decider records it, for ``visitor`` (or a new one): (visitor, invite id)."""
    n = next(_ids)
    visitor = visitor or f"v_chat{n:08d}"
    invite = f"i_chat{n:08d}{visitor[-4:]}"
    await store.put_expiring(
        "demo",
        "invites",
        invite,
        {
            "visitor": visitor,
            "session": "s_" + visitor[2:],
            "ts": now_ms,
            "decision": {
                "action": "invite",
                "invite": invite,
                "mode": "agent",
                "score": 0.83,
                "reasons": list(reasons),
                "message": "Need a hand?",
            },
        },
        now_ms + 3_600_000,
    )
    await store.append_labels(
        "demo",
        [
            {
                "k": "decision",
                "invite": invite,
                "features": {"form_errors": 2.0},
                "score": 0.83,
                "model_version": 0,
                "propensity": 1.0,
                "ts": now_ms,
            }
        ],
    )
    return visitor, invite


class Socket:
    """A WebSocket client with timeouts and a memory of what arrived."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.connection.send(orjson.dumps(frame).decode())

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.connection.recv(), timeout))
        self.seen.append(frame)
        return frame

    async def until(self, check: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        """The first frame (already seen or arriving) for which ``check`` holds."""
        for frame in self.seen:
            if check(frame):
                self.seen.remove(frame)
                return frame
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"timed out; frames seen: {self.seen[-8:]}")
            frame = await self.next(left)
            if check(frame):
                self.seen.remove(frame)
                return frame

    async def nothing(self, check: Callable[[dict[str, Any]], bool], seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await self.until(check, seconds)
            raise AssertionError("a frame arrived that should not have")

    async def close(self) -> None:
        await self.connection.close()


@dataclass(frozen=True)
class Taken:
    """A chat an agent has just taken: the visitor's id, the chat's, the visitor's panel, and the offer
    and chat frames the agent got."""

    visitor: str
    chat: str
    panel: Socket
    offer: dict[str, Any]
    opened: dict[str, Any]


@dataclass
class Served:
    app: FastAPI
    url: str
    sockets: list[Socket] = field(default_factory=list)

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    @property
    def chat(self) -> Any:
        return self.app.state.chat

    @property
    def store(self) -> Any:
        return self.app.state.engine.store

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"authorization": f"Bearer {ADMIN}"})

    async def agent_token(self, name: str = "Ada", **spec: Any) -> tuple[str, str]:
        async with self.http() as client:
            response = await client.post("/v1/admin/sites/demo/agents", json={"name": name} | spec)
        assert response.status_code == 201, response.text
        body = response.json()
        return body["agent"]["id"], body["token"]

    async def agent(self, token: str, status: str = "online", last: dict[str, int] | None = None) -> Socket:
        connection = await websockets.connect(f"{self.ws}/v1/agent/ws")
        agent = Socket(connection)
        self.sockets.append(agent)
        await agent.send(type="hello", token=token, status=status, last=last or {})
        await agent.until(lambda f: f["type"] == "hello")
        return agent

    async def invite(self, visitor: str | None = None, reasons: tuple[str, ...] = ("form_errors",)) -> tuple[str, str]:
        """An invitation as the decider records it: (visitor, invite id)."""
        return await record_invite(self.store, self.app.state.engine.now_ms(), visitor, reasons)

    async def learned(self, outcome: str, timeout: float = 8.0) -> int:
        """How many ``outcome`` labels the site's learner has learned from (waits for at least one)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if isinstance(self.store, MemoryStore):  # the app's own learner: read its committed report
            while loop.time() < deadline:
                model = await self.store.get_model("demo")
                count = int(model[2]["labels"]["by_outcome"][outcome]) if model else 0
                if count:
                    return count
                await asyncio.sleep(0.2)
            return 0
        learner = Learner(self.store, "demo", commit_every_s=0.0)  # Redis: the learner is its own process
        await learner.start()
        while loop.time() < deadline and not learner.state.joiner.counts.by_outcome[outcome]:
            await learner.step(block_ms=100)
        return int(learner.state.joiner.counts.by_outcome[outcome])

    async def visitor(self, visitor: str, invite: str, last: int = 0) -> Socket:
        connection = await websockets.connect(
            f"{self.ws}/v1/chat/ws?site=demo&visitor={visitor}&chat={invite}&last={last}",
            additional_headers={"Origin": ORIGIN},
        )
        chat = Socket(connection)
        self.sockets.append(chat)
        return chat

    async def taken(self, agent: Socket, visitor: str | None = None) -> Taken:
        """A visitor invited and in the chat panel, the chat offered to ``agent``, who accepts it."""
        visitor_id, chat = await self.invite(visitor)
        panel = await self.visitor(visitor_id, chat)
        offer = await agent.until(lambda f: f["type"] == "offer" and f["chat"]["id"] == chat)
        await agent.send(type="accept", chat=chat)
        opened = await agent.until(lambda f: f["type"] == "chat" and f["chat"]["id"] == chat)
        return Taken(visitor_id, chat, panel, offer, opened)

    async def decider_settled(self) -> None:
        """What the periodic jobs would do within a second, now: the decider's background writes done, the
        counters and journal flushed, this worker's capacity reread."""
        decider = self.app.state.engine.decider
        await decider.drain()
        await decider.counters.flush()
        await decider.availability.refresh_all()

    async def wait_capacity(self, check: Callable[[Any], bool], timeout: float = 3.0) -> float:
        """Seconds until this worker's decisions see capacity satisfying ``check``."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        while not check(self.app.state.engine.decider.availability.capacity("demo")):
            if loop.time() - start > timeout:
                raise AssertionError("capacity never changed")
            await asyncio.sleep(0.05)
        return loop.time() - start


@contextlib.asynccontextmanager
async def serve(settings: Settings, clock: Callable[[], float] = time.time) -> AsyncIterator[Served]:
    app = create_app(settings, clock=clock)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="websockets-sansio")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    served = Served(app, f"http://127.0.0.1:{port}")
    try:
        yield served
    finally:
        for open_socket in served.sockets:
            with contextlib.suppress(Exception):
                await open_socket.close()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def chat_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        yield fast_settings(tmp_path)
        return
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("key_prefix")
    yield fast_settings(tmp_path, redis_url=url, redis_prefix=prefix, redis_shards=4)
    delete_prefix(url, prefix)


@pytest.fixture
async def served(chat_settings: Settings) -> AsyncIterator[Served]:
    async with serve(chat_settings) as running:
        yield running
