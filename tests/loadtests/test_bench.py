"""``tactful bench`` end to end at a tiny scale: it measures every target, under every server it offers."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from loadtests.bench import bench_command, latency_history
from loadtests.processes import SERVERS, running
from loadtests.redis_server import free_port

pytestmark = pytest.mark.slow


def test_bench__memory_store_against_bare__figures_ratios_and_plots(tmp_path: Path) -> None:
    result = CliRunner().invoke(bench_command, ["--seconds", "2", "--users", "4", "--saturation-users", "8",
                                                "--batch", "10", "--store", "memory", "--repeat", "2", "--sweep", "2",
                                                "--plots", str(tmp_path / "plots"), "--json"])

    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    runs = {(run["target"], run["users"]): run for run in report["runs"]}
    assert set(runs) == {("bare", 4), ("bare", 8), ("bare", 2), ("memory", 4), ("memory", 8), ("memory", 2)}
    assert runs[("memory", 2)]["extra"]["sweep"] is True
    memory = runs[("memory", 4)]
    assert 0 < memory["server_p50_ms"] <= memory["server_p95_ms"] <= memory["server_p99_ms"]
    assert memory["history"] and all(second[1] > 0 for second in memory["history"])  # collects in each second
    assert runs[("bare", 4)]["history"] == []  # the bare endpoint sends no Server-Timing
    plots = [Path(path) for path in report["notes"]["plots"]]
    assert [path.name for path in plots] == ["throughput.png", "latency.png"]
    for path in plots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
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


def test_latency_history__per_whole_second__count_and_percentiles() -> None:
    answers = [(100.0 + i / 100, float(i % 10)) for i in range(250)]  # 2.5 s of answers, 0..9 ms

    history = latency_history(answers)

    assert [second[:2] for second in history] == [[0, 100], [1, 100]]  # the last half second is left out
    assert history[0][2] == 4.5 and history[0][3] == pytest.approx(9.0)
    assert latency_history([]) == []
