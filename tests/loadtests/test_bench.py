"""``tactful bench`` end to end at a tiny scale: it measures every target, under every server it offers."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from loadtests.bench import Run, _figure, bench_command, latency_history, report
from loadtests.processes import SERVERS, running
from loadtests.redis_server import free_port

pytestmark = pytest.mark.slow


def test_bench__memory_store_against_bare__figures_ratios_and_plots(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        bench_command,
        [
            "--seconds",
            "2",
            "--users",
            "4",
            "--saturation-users",
            "8",
            "--batch",
            "10",
            "--store",
            "memory",
            "--repeat",
            "2",
            "--sweep",
            "2",
            "--plots",
            str(tmp_path / "plots"),
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    runs = {(run["target"], run["users"]): run for run in report["runs"]}
    assert set(runs) == {("bare", 4), ("bare", 8), ("bare", 2), ("memory", 4), ("memory", 8), ("memory", 2)}
    assert runs[("memory", 2)]["extra"]["sweep"] is True
    memory = runs[("memory", 4)]
    # From every answer's Server-Timing, not locust's whole milliseconds.
    assert 0 < memory["server_p50_ms"] <= memory["server_p95_ms"] <= memory["server_p99_ms"]
    assert memory["server_p50_ms"] % 1 != 0
    # Each whole second of the pass, with the collects answered in it: all but the last, partial second.
    answered = sum(second[1] for second in memory["history"])
    assert [second[0] for second in memory["history"]] == list(range(len(memory["history"])))
    assert 0.3 * memory["requests"] <= answered <= 1.05 * memory["requests"]  # locust counts until it stops
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
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/collect",
            data=orjson.dumps(DESIGN_EXAMPLE),
            headers={"content-type": "application/json", "origin": "https://shop.example.com"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = orjson.loads(response.read())
            timing = response.headers["server-timing"]

    assert body == {"accepted": 16, "decision": None}
    assert timing.startswith("app;dur=")


@pytest.mark.redis
def test_bench_app__redis__counts_collects_and_their_store_round_trips(
    tmp_path: Path, redis_url: str, key_prefix: str
) -> None:
    """The figure ``tactful bench`` prints as round trips per collect, read from the bench app's meter."""
    import random
    import urllib.request

    from loadtests.bench import _stats
    from loadtests.bodies import collect_body

    def collect(visitor: str) -> None:
        body = collect_body(visitor, "s_benchmeter", 10, random.Random(visitor))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/collect",
            data=body,
            headers={"content-type": "application/json", "origin": "https://shop.example.com"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert orjson.loads(response.read())["accepted"] == 10

    port = free_port()
    env = os.environ | {
        "TACTFUL_DATA_DIR": str(tmp_path),
        "TACTFUL_PUBLIC_URL": "https://shop.example.com",
        "TACTFUL_REDIS_URL": redis_url,
        "TACTFUL_REDIS_PREFIX": key_prefix,
        "TACTFUL_ADMIN_TOKEN": "bench-test-admin-token-0123456789",
    }
    with running("loadtests.bench_app:app", port, env, health_path="/healthz"):
        before = _stats(port)
        for i in range(5):
            collect(f"v_benchmeter{i}")
        after = _stats(port)

    assert after["collect_requests"] - before["collect_requests"] == 5
    # At least the collect script call each (a new visitor's first decision reads more); start-up and
    # background work are counted apart. The exact one per steady collect: tests/store/test_redis_specifics.py.
    assert after["store_round_trips"]["collect"] - before["store_round_trips"]["collect"] >= 5
    assert before["store_round_trips"]["collect"] == 0 and after["store_round_trips"]["other"] > 0


def test_served_app__no_meter_endpoint(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        assert client.get("/bench/meter").status_code == 404
        assert client.get("/v1/admin/stats").status_code == 404


def test_latency_history__per_whole_second__count_and_percentiles() -> None:
    answers = [(100.0 + i / 100, float(i % 10)) for i in range(250)]  # 2.5 s of answers, 0..9 ms

    history = latency_history(answers)

    assert [second[:2] for second in history] == [[0, 100], [1, 100]]  # the last half second is left out
    assert history[0][2] == 4.5 and history[0][3] == pytest.approx(9.0)
    assert latency_history([]) == []


def test_report__each_target_against_the_bare_endpoint_on_as_many_workers(capsys: pytest.CaptureFixture[str]) -> None:
    def run(target: str, workers: int, rps: float) -> Run:
        return Run(
            target,
            10,
            24,
            int(rps * 10),
            0,
            rps,
            rps * 10,
            1.0,
            2.0,
            None,
            None,
            None,
            extra={"server": "uvicorn", "workers": workers},
        )

    runs = [run("bare", 1, 1000.0), run("bare x2", 2, 1800.0), run("memory", 1, 500.0), run("redis x2", 2, 900.0)]
    report(runs, True, {}, {})

    ratios = {row["target"]: row["rps_vs_bare_peak"] for row in orjson.loads(capsys.readouterr().out)["runs"]}
    assert ratios == {"bare": 1.0, "bare x2": 1.0, "memory": 0.5, "redis x2": 0.5}


def test_report__a_pass_that_got_no_answer_in_time_prints_dashes(capsys: pytest.CaptureFixture[str]) -> None:
    # Locust writes N/A for the percentiles of a pass with no answers (a short pass on a loaded machine).
    assert _figure("N/A") is None and _figure("12.5") == 12.5
    where = {"server": "uvicorn", "workers": 1}
    empty = Run("memory", 10, 4, 0, 0, 0.0, 0.0, _figure("N/A"), _figure("N/A"), None, None, None, extra=dict(where))
    bare = Run("bare", 10, 4, 100, 0, 50.0, 500.0, 1.0, 2.0, None, None, None, extra=dict(where))
    report([bare, empty], False, {}, {})

    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("memory"))
    assert line.split()[:4] == ["memory", "10", "4", "0"] and " - " in line
