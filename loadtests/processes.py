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


def serve(app: str, port: int, env: Mapping[str, str], workers: int = 1) -> subprocess.Popen[bytes]:
    """uvicorn serving ``app`` (``module:attribute``) on 127.0.0.1 with ``workers`` processes."""
    return spawn([sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
                  "--no-access-log", "--log-level", "warning", "--workers", str(workers)], env)


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
def running(app: str, port: int, env: Mapping[str, str], health_path: str = "/healthz",
            workers: int = 1) -> Iterator[None]:
    process = serve(app, port, env, workers)
    try:
        wait_healthy(f"http://127.0.0.1:{port}{health_path}", process)
        yield
    finally:
        stop(process)
