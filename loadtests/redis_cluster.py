"""A throwaway Redis Cluster for tests: three masters from the redis-server binary (and, when asked, a replica
each), stopped after."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import redis

from loadtests.redis_server import RedisNotAvailable, RedisServer, free_port

MASTERS = 3


def _node_port() -> int:
    """A free port whose cluster-bus twin (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _cluster_ok(port: int) -> bool:
    with redis.Redis(port=port, socket_timeout=1.0) as client:
        return bool(client.cluster("INFO").get("cluster_state") == "ok")


def _synced(port: int) -> bool:
    """A master, or a replica whose link to its master is up and whose first sync is done."""
    with redis.Redis(port=port, socket_timeout=1.0) as client:
        info = client.info("replication")
        return info.get("role") == "master" or (
            info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")
        )


@dataclass
class RedisCluster:
    replicas: int = 0
    """Replicas per master: with one, killing a master fails its slots over to its replica."""
    node_timeout_ms: int = 5000
    """How long a node is unreachable before the others count it failed (and a replica takes over)."""
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        """A seed node: the client discovers the others (and the slot map) from it."""
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def start(self) -> None:
        cli = shutil.which("redis-cli")
        if shutil.which("redis-server") is None or cli is None:
            raise RedisNotAvailable(
                "redis-server and redis-cli are needed for the Redis Cluster tests: install Debian's "
                "redis-server and redis-tools packages (bash .ci/run does)"
            )
        for _ in range(MASTERS * (1 + self.replicas)):
            node = RedisServer(
                _node_port(),
                tempfile.mkdtemp(prefix="tactful-cluster-"),
                extra=(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(self.node_timeout_ms),
                    # A master down leaves the other masters' slots served (docs/operations.md): without
                    # this, the whole cluster refuses writes once the node timeout has passed.
                    "--cluster-require-full-coverage",
                    "no",
                ),
            )
            self.nodes.append(node)
            node.start()
        created = subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if created.returncode != 0:
            raise RedisNotAvailable(
                f"redis-cli --cluster create failed: {created.stdout.decode()[-500:]}{created.stderr.decode()[-500:]}"
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(_cluster_ok(port) for port in self.ports) and all(_synced(port) for port in self.ports):
                return
            time.sleep(0.05)
        raise RedisNotAvailable("the Redis Cluster did not reach cluster_state:ok (replicas in sync) within 15 s")

    def node(self, port: int) -> RedisServer:
        return next(node for node in self.nodes if node.port == port)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
            shutil.rmtree(node.directory, ignore_errors=True)


def start_redis_cluster(replicas: int = 0, node_timeout_ms: int = 5000) -> RedisCluster:
    cluster = RedisCluster(replicas, node_timeout_ms)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
