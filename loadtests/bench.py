"""``tactful bench``: collect throughput and latency on each store, against a bare FastAPI endpoint.

Each target runs in its own uvicorn process (one worker) and is driven by the same locust scenario
with the same user count for the same time, one target after another, in one run. Figures are
reported both absolute and as ratios to the bare endpoint with the same batch size: the bare app
only parses the body, so the ratio is what Tactful's work costs on this machine today.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import orjson

from loadtests.processes import running
from loadtests.redis_server import free_port, start_redis


@dataclass
class Figures:
    target: str
    batch: int
    requests: int
    failures: int
    rps: float
    events_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def _locust(port: int, batch: int, users: int, seconds: int, out: Path) -> dict[str, str]:
    locustfile = Path(__file__).with_name("locust_collect.py")
    prefix = out / f"locust-{port}-{batch}"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(users),
         "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
         "--loglevel", "ERROR", "--exit-code-on-error", "0"],
        env=os.environ | {"TACTFUL_BENCH_BATCH": str(batch)}, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with open(f"{prefix}_stats.csv", newline="") as stats:
        return next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")


def measure(target: str, app: str, env: dict[str, str], batch: int, users: int, seconds: int,
            out: Path) -> Figures:
    port = free_port()
    with running(app, port, env, health_path="/docs"):
        row = _locust(port, batch, users, seconds, out)
    requests, failures = int(row["Request Count"]), int(row["Failure Count"])
    rps = float(row["Requests/s"])
    return Figures(target, batch, requests, failures, round(rps, 1), round(rps * batch, 1),
                   float(row["50%"]), float(row["95%"]), float(row["99%"]))


@click.command("bench")
@click.option("--seconds", default=15, show_default=True, help="load time per target")
@click.option("--users", default=24, show_default=True, help="concurrent simulated visitors")
@click.option("--batch", "batches", default=[1, 10], multiple=True, show_default=True, type=int)
@click.option("--store", "stores", default=["memory", "redis"], multiple=True, show_default=True,
              type=click.Choice(["memory", "redis"]))
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of a table")
def bench_command(seconds: int, users: int, batches: tuple[int, ...], stores: tuple[str, ...],
                  as_json: bool) -> None:
    """Collect throughput per store and batch size, next to a bare FastAPI endpoint."""
    out = Path(tempfile.mkdtemp(prefix="tactful-bench-"))
    redis = start_redis() if "redis" in stores else None
    base_env = os.environ | {"TACTFUL_DATA_DIR": str(out / "data"), "TACTFUL_PUBLIC_URL": "http://127.0.0.1"}
    base_env.pop("TACTFUL_REDIS_URL", None)
    targets = [("bare", "loadtests.bare_app:app", base_env)]
    if "memory" in stores:
        targets.append(("memory", "api.main:app", base_env))
    if redis is not None:
        targets.append(("redis", "api.main:app", base_env | {"TACTFUL_REDIS_URL": redis.url}))
    results: list[Figures] = []
    try:
        for batch in batches:
            for name, app, env in targets:
                click.echo(f"measuring {name} with batches of {batch} ({seconds} s)...", err=True)
                results.append(measure(name, app, env, batch, users, seconds, out))
    finally:
        if redis is not None:
            redis.stop()
    report(results, as_json, {"users": users, "seconds": seconds, "cpus": os.cpu_count()})


def report(results: list[Figures], as_json: bool, setup: dict[str, object]) -> None:
    bare = {r.batch: r for r in results if r.target == "bare"}
    rows = []
    for r in results:
        base = bare.get(r.batch)
        ratio = round(r.rps / base.rps, 3) if base and base.rps else None
        rows.append(asdict(r) | {"rps_vs_bare": ratio})
    if as_json:
        click.echo(orjson.dumps({"setup": setup, "results": rows}, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"collect benchmark: {setup}")
    header = f"{'target':8} {'batch':>5} {'req/s':>9} {'events/s':>10} {'vs bare':>8} {'p50 ms':>7} " \
             f"{'p95 ms':>7} {'p99 ms':>7} {'errors':>6}"
    click.echo(header)
    for row in rows:
        shown = f"{row['rps_vs_bare']:.2f}" if row["rps_vs_bare"] is not None else "-"
        click.echo(f"{row['target']:8} {row['batch']:>5} {row['rps']:>9.0f} {row['events_per_s']:>10.0f} "
                   f"{shown:>8} {row['p50_ms']:>7.0f} {row['p95_ms']:>7.0f} {row['p99_ms']:>7.0f} "
                   f"{row['failures']:>6}")
