"""Starting and stopping real server processes, for the benchmark and the multi-process tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from typing import IO


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {_tail(process)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not become healthy within {timeout_s} s")


_LOGS: dict[int, IO[bytes]] = {}


def _tail(process: subprocess.Popen[bytes]) -> str:
    log = _LOGS.get(process.pid)
    if log is None:
        return ""
    log.seek(0)
    return log.read()[-2000:].decode(errors="replace")


def spawn(command: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """A child process whose stderr goes to a temporary file (a pipe nobody reads can block it)."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop(), when the process is gone
    process = subprocess.Popen(command, env=dict(env), stdout=subprocess.DEVNULL, stderr=log)
    _LOGS[process.pid] = log
    return process


SERVERS = ("uvicorn", "granian", "hypercorn")
"""ASGI servers the benchmark can compare; uvicorn is the one the product ships with (``tactful serve``)."""


def server_command(server: str, app: str, port: int, workers: int = 1) -> list[str]:
    """The command line that serves ``app`` (``module:attribute``) on 127.0.0.1 with ``server``.

    Each on uvloop, without access logs: the configuration each is fastest in. granian and
    hypercorn come with the ``bench`` extra.
    """
    if server == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--workers",
            str(workers),
        ]
    if server == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--log-level",
            "warning",
            "--no-access-log",
            app,
        ]
    if server == "hypercorn":
        return [
            sys.executable,
            "-m",
            "hypercorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "uvloop",
            "--log-level",
            "warning",
            app,
        ]
    raise ValueError(f"unknown server {server!r}; known: {', '.join(SERVERS)}")


def serve(
    app: str, port: int, env: Mapping[str, str], workers: int = 1, server: str = "uvicorn"
) -> subprocess.Popen[bytes]:
    """``server`` serving ``app`` (``module:attribute``) on 127.0.0.1 with ``workers`` processes."""
    return spawn(server_command(server, app, port, workers), env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log = _LOGS.pop(process.pid, None)
    if log is not None:
        log.close()


@contextlib.contextmanager
def running(
    app: str,
    port: int,
    env: Mapping[str, str],
    health_path: str = "/healthz",
    workers: int = 1,
    server: str = "uvicorn",
) -> Iterator[subprocess.Popen[bytes]]:
    process = serve(app, port, env, workers, server)
    try:
        wait_healthy(f"http://127.0.0.1:{port}{health_path}", process)
        yield process
    finally:
        stop(process)
