"""``tactful bench`` end to end at a tiny scale: it measures every target, under every server it offers."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from loadtests.bench import bench_command
from loadtests.processes import SERVERS, running
from loadtests.redis_server import free_port

pytestmark = pytest.mark.slow


def test_bench__memory_store_against_bare__figures_and_ratios() -> None:
    result = CliRunner().invoke(bench_command, ["--seconds", "2", "--users", "4", "--saturation-users", "8",
                                                "--batch", "10", "--store", "memory", "--repeat", "2", "--json"])

    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    runs = {(run["target"], run["users"]): run for run in report["runs"]}
    assert set(runs) == {("bare", 4), ("bare", 8), ("memory", 4), ("memory", 8)}
    for run in runs.values():
        assert run["requests"] > 0 and run["failures"] == 0 and run["extra"]["passes"] == 2
        assert run["events_per_s"] == pytest.approx(run["rps"] * 10, rel=0.01)
        assert 0 < run["rps_vs_bare_peak"] <= 1.5
    assert runs[("memory", 4)]["server_p99_ms"] is not None  # from the Server-Timing header
    for run in runs.values():  # the server's own CPU per request; no Redis in this run
        assert 10 < run["server_cpu_us"] < 1_000_000 and run["redis_cpu_us"] is None
        assert 0 < run["cpu_vs_bare"] <= (1.0 if run["target"] == "bare" else 0.95)


@pytest.mark.parametrize("server", SERVERS)
def test_servers__each_serves_collect_with_the_full_app(server: str, tmp_path: Path) -> None:
    import urllib.request

    from tests.factories import DESIGN_EXAMPLE

    port = free_port()
    env = os.environ | {"TACTFUL_DATA_DIR": str(tmp_path), "TACTFUL_PUBLIC_URL": "https://shop.example.com"}
    with running("api.main:app", port, env, health_path="/healthz", server=server):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/collect", data=orjson.dumps(DESIGN_EXAMPLE),
                                         headers={"content-type": "application/json",
                                                  "origin": "https://shop.example.com"})
        with urllib.request.urlopen(request, timeout=5) as response:
            body = orjson.loads(response.read())
            timing = response.headers["server-timing"]

    assert body == {"accepted": 16, "decision": None}
    assert timing.startswith("app;dur=")
