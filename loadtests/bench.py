"""``tactful bench``: collect throughput and latency on each store, against a bare FastAPI endpoint.

Every target runs in its own uvicorn process(es) and is driven by the same locust scenario
(``FirehoseVisitor``: back-to-back batches of N events) for the same time, one after another, in
one run. For each target and batch size it measures a fixed user count and saturation (many more
users); for Redis also the server's p99 at half the saturated rate, the store round trips per collect,
and Redis memory per visitor after realistic visits (``ShopVisitor``). Figures are reported absolute
and as ratios to the bare endpoint measured in the same run, since these machines are shared and noisy.
Server latency comes from the ``Server-Timing`` header, so it excludes the load generator's queueing.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import orjson
import redis as redis_sync

from loadtests.processes import SERVERS, running
from loadtests.redis_server import free_port, start_redis

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
TOKEN = "bench-admin-token-0123456789"


@dataclass
class Run:
    target: str
    batch: int
    users: int
    requests: int
    failures: int
    rps: float
    events_per_s: float
    client_p50_ms: float
    client_p99_ms: float
    server_p50_ms: float | None
    server_p95_ms: float | None
    server_p99_ms: float | None
    extra: dict[str, Any] = field(default_factory=dict)


def _locust(port: int, user_class: str, users: int, seconds: int, out: Path, env: dict[str, str],
            rate: float | None = None) -> dict[str, dict[str, str]]:
    prefix = out / f"locust-{port}-{user_class}-{users}-{rate}"
    spawn_rate = str(max(users, 1))
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
               "-r", spawn_rate, "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix),
               "--only-summary", "--loglevel", "ERROR", "--exit-code-on-error", "0", user_class]
    run_env = env | ({"TACTFUL_BENCH_RATE": str(rate)} if rate else {})
    subprocess.run(command, env=run_env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f"{prefix}_stats.csv", newline="") as stats:
        return {row["Name"]: row for row in csv.DictReader(stats)}


def _pct(row: dict[str, str] | None, key: str) -> float | None:
    return float(row[key]) if row and row.get(key) not in (None, "", "N/A") else None


def _stats(port: int) -> dict[str, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/admin/stats",
                                     headers={"authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        stats: dict[str, Any] = orjson.loads(response.read())
    return stats


def measure(target: str, port: int, batch: int, users: int, seconds: int, out: Path, env: dict[str, str],
            rate: float | None = None, repeat: int = 1) -> Run:
    """The best of ``repeat`` passes: the highest throughput, or at a fixed ``rate`` the lowest server p99.

    On a shared machine the worse passes measure the neighbours, not the code; every target and the
    bare baseline get the same number of passes.
    """
    passes = [_measure_once(target, port, batch, users, seconds, out, env, rate) for _ in range(repeat)]
    if rate is None:
        best = max(passes, key=lambda run: run.rps)
    else:
        best = min(passes, key=lambda run: run.server_p99_ms if run.server_p99_ms is not None else float("inf"))
    if repeat > 1:
        best.extra["passes"] = repeat
    return best


def _measure_once(target: str, port: int, batch: int, users: int, seconds: int, out: Path, env: dict[str, str],
                  rate: float | None) -> Run:
    rows = _locust(port, "FirehoseVisitor", users, seconds, out, env | {"TACTFUL_BENCH_BATCH": str(batch)}, rate)
    client, server = rows.get("/v1/collect") or rows["Aggregated"], rows.get("server collect")
    rps = float(client["Requests/s"])
    return Run(target, batch, users, int(client["Request Count"]), int(client["Failure Count"]), round(rps, 1),
               round(rps * batch, 1), float(client["50%"]), float(client["99%"]), _pct(server, "50%"),
               _pct(server, "95%"), _pct(server, "99%"))


def memory_per_visitor(redis_url: str, prefix: str, sample: int = 300) -> dict[str, Any]:
    """Mean bytes of a visitor's keys (session + visitor record), over a sample of visitors."""
    with redis_sync.Redis.from_url(redis_url) as client:
        sessions = [key for _, key in zip(range(sample), client.scan_iter(match=f"{prefix}:*:s:*", count=1000),
                                          strict=False)]
        sizes = [(client.memory_usage(key) or 0) + (client.memory_usage(key.replace(b":s:", b":v:", 1)) or 0)
                 for key in sessions]
        used = client.info("memory")["used_memory"]
    return {"visitors_sampled": len(sizes), "bytes_per_visitor": round(sum(sizes) / len(sizes)) if sizes else None,
            "used_memory_bytes": used}


@click.command("bench")
@click.option("--seconds", default=15, show_default=True, help="load time per run")
@click.option("--users", default=24, show_default=True, help="concurrent users for the fixed-load run")
@click.option("--saturation-users", default=96, show_default=True, help="users for the saturation run")
@click.option("--batch", "batches", default=[1, 10], multiple=True, show_default=True, type=int)
@click.option("--store", "stores", default=["memory", "redis"], multiple=True, show_default=True,
              type=click.Choice(["memory", "redis"]))
@click.option("--workers", default=1, show_default=True, help="server workers for the Redis target")
@click.option("--server", "servers", default=["uvicorn"], multiple=True, show_default=True,
              type=click.Choice(SERVERS), help="ASGI server(s) to measure every target under (repeat to compare)")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 10),
              help="passes per point; the best is reported (the others measured the neighbours)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of a table")
def bench_command(seconds: int, users: int, saturation_users: int, batches: tuple[int, ...],
                  stores: tuple[str, ...], workers: int, servers: tuple[str, ...], repeat: int, as_json: bool) -> None:
    """Collect throughput, latency, round trips and memory per store, next to a bare FastAPI endpoint."""
    out = Path(tempfile.mkdtemp(prefix="tactful-bench-"))
    redis = start_redis() if "redis" in stores else None
    base_env = os.environ | {"TACTFUL_DATA_DIR": str(out / "data"), "TACTFUL_PUBLIC_URL": "http://127.0.0.1",
                             "TACTFUL_ADMIN_TOKEN": TOKEN,
                             # Every simulated visitor comes from 127.0.0.1 and sends as fast as it can.
                             "TACTFUL_RATE_LIMIT_IP_PER_S": "0", "TACTFUL_RATE_LIMIT_VISITOR_PER_S": "0"}
    base_env.pop("TACTFUL_REDIS_URL", None)
    targets: list[Target] = []
    for server in servers:
        targets.append(Target("bare", server, "loadtests.bare_app:app", base_env, 1))
        if "memory" in stores:
            targets.append(Target("memory", server, "api.main:app", base_env, 1))
        if redis is not None:
            redis_env = base_env | {"TACTFUL_REDIS_URL": redis.url, "TACTFUL_REDIS_PREFIX": f"bench-{server}"}
            targets.append(Target("redis", server, "api.main:app", redis_env, workers))
    runs: list[Run] = []
    notes: dict[str, Any] = {}
    try:
        for target in targets:
            runs += measure_target(target, batches, users, saturation_users, seconds, out, repeat)
            if target.store == "redis" and redis is not None and "redis_memory" not in notes:
                port = free_port()
                with running(target.app, port, target.env, health_path="/openapi.json", server=target.server):
                    click.echo("redis: realistic visitors for memory per visitor...", err=True)
                    env = target.env | {"TACTFUL_LOAD_PACE": "0.05"}
                    _locust(port, "ShopVisitor", 200, seconds, out, env)
                notes["redis_memory"] = memory_per_visitor(redis.url, f"bench-{target.server}")
    finally:
        if redis is not None:
            redis.stop()
    report(runs, as_json, {"users": users, "saturation_users": saturation_users, "seconds": seconds,
                           "redis_workers": workers, "servers": list(servers), "repeat": repeat,
                           "cpus": os.cpu_count()}, notes)


@dataclass(frozen=True)
class Target:
    store: str  # "bare", "memory" or "redis"
    server: str
    app: str
    env: dict[str, str]
    workers: int


def measure_target(target: Target, batches: tuple[int, ...], users: int, saturation_users: int, seconds: int,
                   out: Path, repeat: int = 1) -> list[Run]:
    """Fixed load and saturation per batch size; for Redis also half of the peak and round trips per collect."""
    runs: list[Run] = []
    name = target.store if target.server == "uvicorn" else f"{target.store}@{target.server}"
    port = free_port()
    with running(target.app, port, target.env, health_path="/openapi.json", workers=target.workers,
                 server=target.server):
        for batch in batches:
            click.echo(f"{name}: batches of {batch}, {users} and {saturation_users} users...", err=True)
            counted = target.store == "redis" and target.workers == 1
            before = _stats(port) if counted else None
            fixed = measure(name, port, batch, users, seconds, out, target.env, repeat=repeat)
            if before is not None:
                after = _stats(port)
                trips = after["store_round_trips"]["collect"] - before["store_round_trips"]["collect"]
                collects = after["collect_requests"] - before["collect_requests"]
                fixed.extra["round_trips_per_collect"] = round(trips / max(1, collects), 3)
            saturated = measure(name, port, batch, saturation_users, seconds, out, target.env, repeat=repeat)
            saturated.extra["saturation"] = True
            runs += [fixed, saturated]
            if target.store == "redis":
                peak = max(fixed.rps, saturated.rps)
                # Many users each sending a little: the per-user stream stays Poisson at the asked rate.
                half = measure(name, port, batch, saturation_users, seconds, out, target.env,
                               rate=peak / 2 / saturation_users, repeat=repeat)
                half.extra["half_of_peak_rps"] = round(peak / 2, 1)
                runs.append(half)
    for run in runs:
        run.extra["server"] = target.server
    return runs


def report(runs: list[Run], as_json: bool, setup: dict[str, Any], notes: dict[str, Any]) -> None:
    # The baseline of a run is the bare endpoint's best under the same server and batch size.
    best_bare: dict[tuple[str, int], float] = {}
    for run in runs:
        if run.target.startswith("bare"):
            key = (run.extra["server"], run.batch)
            best_bare[key] = max(best_bare.get(key, 0.0), run.rps)
    rows = []
    for run in runs:
        base = best_bare.get((run.extra["server"], run.batch))
        rows.append(asdict(run) | {"rps_vs_bare_peak": round(run.rps / base, 3) if base else None})
    if as_json:
        click.echo(orjson.dumps({"setup": setup, "runs": rows, "notes": notes}, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"collect benchmark: {setup}")
    click.echo(f"{'target':15} {'batch':>5} {'users':>5} {'req/s':>7} {'events/s':>9} {'vs bare':>7} "
               f"{'srv p50':>7} {'srv p95':>7} {'srv p99':>7} {'cli p99':>7} {'errors':>6}  notes")
    for row in rows:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"
        ratio = "-" if row["rps_vs_bare_peak"] is None else f"{row['rps_vs_bare_peak']:.2f}"
        extra = {key: value for key, value in row["extra"].items() if key != "server"}
        click.echo(f"{row['target']:15} {row['batch']:>5} {row['users']:>5} {row['rps']:>7.0f} "
                   f"{row['events_per_s']:>9.0f} {ratio:>7} {ms(row['server_p50_ms']):>7} "
                   f"{ms(row['server_p95_ms']):>7} {ms(row['server_p99_ms']):>7} {row['client_p99_ms']:>7.0f} "
                   f"{row['failures']:>6}  {extra or ''}")
    for name, value in notes.items():
        click.echo(f"{name}: {value}")
