"""A short run of the realistic load scenario against the real server: it passes, and it can fail."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.processes import running
from loadtests.redis_server import free_port

pytestmark = pytest.mark.slow

LOCUSTFILE = Path(__file__).parents[2] / "loadtests" / "locust" / "locustfile.py"


def _locust(port: int, out: Path, seconds: int) -> tuple[int, dict[str, str]]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "-u",
            "30",
            "-r",
            "30",
            "-t",
            f"{seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(out / "smoke"),
            "--only-summary",
            "--loglevel",
            "ERROR",
            "--exit-code-on-error",
            "1",
            "ShopVisitor",
        ],
        env=os.environ | {"TACTFUL_LOAD_PACE": "0.05"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    with open(out / "smoke_stats.csv", newline="") as stats:
        totals = next(row for row in csv.DictReader(stats) if row["Name"] == "/v1/collect")
    return completed.returncode, totals


def _env(tmp_path: Path, demo: bool) -> dict[str, str]:
    return os.environ | {
        "TACTFUL_DATA_DIR": str(tmp_path / "data"),
        "TACTFUL_PUBLIC_URL": "http://127.0.0.1",
        "TACTFUL_DEMO": "true" if demo else "false",
    }


def test_shop_visitors__real_server__no_errors(tmp_path: Path) -> None:
    port = free_port()
    with running("api.main:app", port, _env(tmp_path, demo=True)):
        code, totals = _locust(port, tmp_path, seconds=8)

    assert int(totals["Request Count"]) > 100
    assert int(totals["Failure Count"]) == 0 and code == 0


def test_shop_visitors__server_refusing_every_batch__the_run_fails(tmp_path: Path) -> None:
    port = free_port()
    with running("api.main:app", port, _env(tmp_path, demo=False)):  # no demo site: every batch is a 401
        code, totals = _locust(port, tmp_path, seconds=3)

    assert int(totals["Failure Count"]) > 0 and code != 0


def test_shop_visitors__no_server__failures_name_the_connection_error(tmp_path: Path) -> None:
    code, totals = _locust(free_port(), tmp_path, seconds=3)  # nothing listens there

    with open(tmp_path / "smoke_failures.csv", newline="") as failures:
        messages = [row["Error"] for row in csv.DictReader(failures)]
    with open(tmp_path / "smoke_exceptions.csv", newline="") as exceptions:
        crashes = list(csv.DictReader(exceptions))
    assert int(totals["Failure Count"]) > 0 and code != 0
    assert messages and all("status 0" in message and "Connection" in message for message in messages), messages
    assert crashes == []  # the scenario itself does not fall over
