"""A throwaway Redis Cluster for tests: three masters from the redis-server binary, no replicas, stopped after."""

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


@dataclass
class RedisCluster:
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
        for _ in range(MASTERS):
            node = RedisServer(
                _node_port(),
                tempfile.mkdtemp(prefix="tactful-cluster-"),
                extra=(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
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
                "0",
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
            if all(_cluster_ok(port) for port in self.ports):
                return
            time.sleep(0.05)
        raise RedisNotAvailable("the Redis Cluster did not reach cluster_state:ok within 15 s")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
            shutil.rmtree(node.directory, ignore_errors=True)


def start_redis_cluster() -> RedisCluster:
    cluster = RedisCluster()
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
