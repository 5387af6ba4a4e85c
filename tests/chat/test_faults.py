"""A chat survives its worker killed mid-conversation, and its Redis primary failing over to a replica.

The visitor's panel and the agent's console are the protocol clients of tests/chat/reconnecting.py,
which reconnect and resend as widget_js/src/chat.js and api/static/agent/agent.js do. Both type at a
steady rate throughout; every message either side typed must be shown by the other exactly once, in
the order typed, stored once, and the chat must still be active with the same agent. Each test prints
its figures (pytest -s shows them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from redis.crc import key_slot

from api import Settings
from api.store import RedisStore
from loadtests.processes import spawn, stop, wait_healthy
from loadtests.redis_server import free_port
from tests.api.conftest import delete_prefix
from tests.chat.conftest import ADMIN, ORIGIN, record_invite, serve
from tests.chat.reconnecting import Console, Panel, Party, converse, figures, settled
from tests.conftest import throwaway_redis_cluster

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]

EVERY_S = 0.15
"""Each side types a message this often (well inside the sockets' 20 frames/s)."""


class Balancer:
    """A round-robin TCP proxy in front of the workers: a connection goes to the next worker that accepts
    it, and is cut when its worker goes (as a load balancer does)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.routed: list[int] = []
        """The worker port each connection went to, in order."""
        self._next = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        try:
            yield f"ws://127.0.0.1:{port}"
        finally:
            self._server.close()
            for pipe in self._pipes:
                pipe.cancel()
            await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in self.ports:
            port = self.ports[self._next % len(self.ports)]
            self._next += 1
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue  # that worker is down: the next one
            self.routed.append(port)
            pipes = [
                asyncio.create_task(self._pipe(reader, upstream_writer)),
                asyncio.create_task(self._pipe(upstream_reader, writer)),
            ]
            self._pipes.update(pipes)
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for pipe in pipes:
                pipe.cancel()
                self._pipes.discard(pipe)
            upstream_writer.close()
            break
        writer.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()


def _worker(port: int, env: dict[str, str]) -> Any:
    return spawn([sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)], env)


async def _agent(base: str, name: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {ADMIN}"}) as client:
        response = await client.post("/v1/admin/sites/demo/agents", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["agent"]["id"], response.json()["token"]


async def _knows_the_site(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        deadline = time.monotonic() + 15
        while (await client.get("/v1/chat/availability", params={"site": "demo"})).status_code != 200:
            assert time.monotonic() < deadline, f"{base} never knew the demo site"
            await asyncio.sleep(0.2)


async def _transcript(base: str, chat: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {ADMIN}"}) as client:
        response = await client.get(f"/v1/admin/sites/demo/chats/{chat}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _until(check: Any, timeout_s: float, what: str, *parties: Party) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            said = "; ".join(
                f"{type(p).__name__}: {p.connections} connections, resumed {p.resumed.is_set()}, "
                f"{len(p.pending)} pending, last frames {p.wire[-2:]}"
                for p in parties
            )
            raise AssertionError(f"timed out waiting for {what}. {said}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _typing(panel: Panel, console: Console) -> AsyncIterator[None]:
    """The visitor and the agent each typing a numbered message every EVERY_S, until the block ends."""
    done = asyncio.Event()
    typing = [
        asyncio.create_task(converse(panel, [f"visitor {n}" for n in range(400)], EVERY_S, done)),
        asyncio.create_task(converse(console, [f"agent {n}" for n in range(400)], EVERY_S, done)),
    ]
    try:
        yield
    finally:
        done.set()
        await asyncio.gather(*typing)


async def _active(panel: Panel, console: Console, timeout_s: float = 10.0) -> None:
    """The agent accepts the offer (the console's Accept) and the panel hears the chat is active."""
    await _until(lambda: console.socket is not None and console.resumed.is_set(), timeout_s, "the console")
    offered = asyncio.get_running_loop().time() + timeout_s
    while not any(s["state"] == "active" for s in panel.states):
        await console.send_now({"type": "accept", "chat": panel.chat})
        if asyncio.get_running_loop().time() > offered:
            raise AssertionError(f"the chat never became active: {panel.states}")
        await asyncio.sleep(0.3)


def _check_delivery(panel: Panel, console: Console, transcript: dict[str, Any], agent_id: str) -> None:
    assert console.heard("visitor") == panel.sent, "the agent was not shown each visitor message once, in order"
    assert panel.heard("agent") == console.sent, "the visitor was not shown each agent message once, in order"
    assert panel.doubled() == 0 and console.doubled() == 0
    stored = [(m["from"], m["text"]) for m in transcript["messages"] if m["from"] != "system"]
    assert [t for who, t in stored if who == "visitor"] == panel.sent
    assert [t for who, t in stored if who == "agent"] == console.sent
    assert not any("lost their connection" in m["text"] for m in transcript["messages"])
    assert (transcript["state"], transcript["agent"], transcript["agents"]) == ("active", agent_id, [agent_id])
    assert console.chats and all(c["state"] == "active" and c["agent"] == agent_id for c in console.chats)


async def test_worker_killed_mid_chat__visitor_and_agent_reconnect_to_the_other__every_message_once(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    """Two workers behind a balancer; the agent's worker is killed (-9), then restarted; then the worker
    holding both sockets is killed. Production timings: presence 4 s, agent grace 10 s."""
    env = os.environ | {
        "TACTFUL_REDIS_URL": redis_url,
        "TACTFUL_REDIS_PREFIX": key_prefix,
        "TACTFUL_REDIS_SHARDS": "4",
        "TACTFUL_ADMIN_TOKEN": ADMIN,
        "TACTFUL_PUBLIC_URL": ORIGIN,
        "TACTFUL_DATA_DIR": str(tmp_path),
    }
    ports = [free_port(), free_port()]
    workers = {port: _worker(port, env) for port in ports}
    store = RedisStore.from_url(redis_url, prefix=key_prefix, shards=4)
    try:
        for port, process in workers.items():
            await asyncio.to_thread(wait_healthy, f"http://127.0.0.1:{port}/healthz", process, 60)
        for port in ports:  # the demo site, seeded by one of them, known to both (else the visitor is refused)
            await _knows_the_site(f"http://127.0.0.1:{port}")
        first = f"http://127.0.0.1:{ports[0]}"
        agent_id, token = await _agent(first, "Ada")
        visitor_id, invite = await record_invite(store, int(time.time() * 1000))
        balancer = Balancer(ports)
        async with balancer.running() as url:
            console = Console(url, 0.3, 5, token=token, chat=invite)
            panel = Panel(url, 0.4, 6, visitor=visitor_id, chat=invite)
            clients = [asyncio.create_task(console.run())]
            await _until(console.resumed.is_set, 10, "the console signed in")
            clients.append(asyncio.create_task(panel.run()))
            await _active(panel, console)
            assert balancer.routed == ports, (
                f"the agent and the visitor should start on different workers: connections went to {balancer.routed}"
                f" (console {console.connections}, panel {panel.connections}, states {panel.states})"
            )

            async with _typing(panel, console):
                await asyncio.sleep(1.5)
                workers[ports[0]].kill()  # the agent's worker, mid-chat
                await _until(lambda: console.connections == 2 and console.resumed.is_set(), 15, "the agent back")
                assert balancer.routed[-1] == ports[1]
                await asyncio.sleep(1.0)

                stop(workers[ports[0]])
                workers[ports[0]] = _worker(ports[0], env)  # back, on its port; it holds nothing now
                await asyncio.to_thread(wait_healthy, f"{first}/healthz", workers[ports[0]], 60)
                await asyncio.sleep(0.5)
                workers[ports[1]].kill()  # the worker holding both sockets
                await _until(
                    lambda: (
                        console.connections == 3
                        and panel.connections == 2
                        and console.resumed.is_set()
                        and panel.resumed.is_set()
                    ),
                    15,
                    "both back on the first worker",
                )
                assert balancer.routed[-2:] == [ports[0], ports[0]]
                await asyncio.sleep(1.5)
            await settled(panel, console, 15)
            transcript = await _transcript(first, invite)
            for client in clients:
                client.cancel()
            await asyncio.gather(*clients, return_exceptions=True)

        numbers = figures(panel, console)
        print("\n" + numbers.line("worker killed (-9) twice, 3 sockets moved"))
        assert len(numbers.reconnects) == 3
        assert numbers.lost == 0 and numbers.doubled == 0
        _check_delivery(panel, console, transcript, agent_id)
        assert numbers.visitor_to_agent > 20 and numbers.agent_to_visitor > 20
    finally:
        for process in workers.values():
            stop(process)
        await store.close()
        delete_prefix(redis_url, key_prefix)


def _cluster_nodes(port: int) -> list[list[str]]:
    with redis.Redis(port=port, socket_timeout=2.0) as client:
        return [line.split() for line in client.execute_command("CLUSTER", "NODES").decode().splitlines()]


def _serves(fields: list[str], slot: int) -> bool:
    for served in fields[8:]:
        start, _, end = served.partition("-")
        if not served.startswith("[") and int(start) <= slot <= int(end or start):
            return True
    return False


def _primary_and_replica(port: int, key: str) -> tuple[int, int]:
    """The ports of the master serving ``key``'s slot and of its replica, from CLUSTER NODES."""
    nodes = _cluster_nodes(port)
    ports = {fields[0]: int(fields[1].split("@")[0].rsplit(":", 1)[1]) for fields in nodes}
    master = next(fields[0] for fields in nodes if "master" in fields[2] and _serves(fields, key_slot(key.encode())))
    return ports[master], ports[next(fields[0] for fields in nodes if fields[3] == master)]


def _prefix_beside_the_chats(port: int, base: str) -> str:
    """A key prefix whose bus pattern hashes to the master of the site's chat keys: killing that master then
    takes the workers' bus subscription with it (redis-py subscribes on the pattern's master)."""
    for n in range(1000):
        prefix = f"{base}{n}"
        if _primary_and_replica(port, f"{prefix}:bus:*") == _primary_and_replica(port, f"{prefix}:{{demo}}:c"):
            return prefix
    raise AssertionError("no prefix found")


def _role(port: int) -> str:
    with redis.Redis(port=port, socket_timeout=1.0) as client:
        return str(client.info("replication")["role"])


async def test_redis_primary_killed_mid_chat__replica_promoted__every_message_once_and_the_chat_intact(
    key_prefix: str, tmp_path: Path
) -> None:
    """Three masters with a replica each; the master holding the chat's keys (and the worker's bus subscription)
    is killed (-9) while both sides type; its replica takes over after the node timeout (1 s). A message is
    acknowledged once the replica has it (TACTFUL_REDIS_WAIT_REPLICAS, 1 by default). Production timings: presence 4 s,
    agent grace 10 s."""
    cluster = await asyncio.to_thread(throwaway_redis_cluster, 1, 1000)
    key_prefix = _prefix_beside_the_chats(cluster.ports[0], key_prefix)
    settings = Settings(
        public_url=ORIGIN,
        demo=True,
        data_dir=tmp_path,
        admin_token=ADMIN,
        redis_url=cluster.url,
        redis_cluster=True,
        redis_prefix=key_prefix,
    )
    try:
        async with serve(settings) as worker:
            agent_id, token = await worker.agent_token("Ada")
            visitor_id, invite = await worker.invite()
            console = Console(worker.ws, 0.3, 5, token=token, chat=invite)
            panel = Panel(worker.ws, 0.4, 6, visitor=visitor_id, chat=invite)
            clients = [asyncio.create_task(console.run())]
            await _until(console.resumed.is_set, 10, "the console signed in")
            clients.append(asyncio.create_task(panel.run()))
            await _active(panel, console)
            primary, replica = _primary_and_replica(cluster.ports[0], f"{key_prefix}:{{demo}}:l:m:{invite}")

            async with _typing(panel, console):
                await asyncio.sleep(1.5)
                loop = asyncio.get_running_loop()
                killed_at = loop.time()
                assert worker.chat.bus._pubsub.get_pubsub_node().port == primary, "the bus listens elsewhere"
                process = cluster.node(primary).process
                assert process is not None
                process.kill()  # the chat's master, mid-chat
                await _until(lambda: _role(replica) == "master", 20, "the replica promoted")
                failover_s = loop.time() - killed_at
                await asyncio.sleep(2.0)  # typing on, after the promotion
            await settled(panel, console, 15)
            async with worker.http() as admin:
                response = await admin.get(f"/v1/admin/sites/demo/chats/{invite}")
            assert response.status_code == 200, response.text
            transcript = response.json()
            for client in clients:
                client.cancel()
            await asyncio.gather(*clients, return_exceptions=True)

        numbers = figures(panel, console)
        print(
            "\n"
            + numbers.line("redis master killed (-9), replica promoted")
            + f"; replica promoted {failover_s:.2f} s after the kill"
        )
        assert numbers.lost == 0 and numbers.doubled == 0
        _check_delivery(panel, console, transcript, agent_id)
        assert numbers.visitor_to_agent > 20 and numbers.agent_to_visitor > 20
    finally:
        await asyncio.to_thread(cluster.stop)
