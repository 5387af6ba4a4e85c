"""``tactful bench``: collect throughput and latency on each store, against a bare FastAPI endpoint.

Every target runs in its own uvicorn process(es) and is driven by the same locust scenario
(``FirehoseVisitor``: back-to-back batches of N events) for the same time, one after another, in
one run. For each target and batch size it measures a fixed user count and saturation (many more
users); for Redis also the server's p99 at half the saturated rate, the store round trips per collect,
and Redis memory per visitor after realistic visits (``ShopVisitor``). Figures are reported absolute
and as ratios to the bare endpoint measured in the same run, since these machines are shared and noisy.
Server latency comes from the ``Server-Timing`` header of every answer, so it excludes the load
generator's queueing; ``--plots`` draws it per second of each run, and throughput against users
(``--sweep`` adds user counts).
CPU per request (the server's processes and Redis, user + system) is the steadiest figure on such a
machine: a noisy neighbour lowers everyone's requests/s far more than it changes what a request costs.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import orjson
import redis as redis_sync

from loadtests.processes import SERVERS, running
from loadtests.redis_server import free_port, start_redis

LOCUSTFILE = Path(__file__).with_name("locust") / "locustfile.py"
"""Run by locust from its path. Its folder is not a package, so installing tactful never imports locust."""
TOKEN = "bench-admin-token-0123456789"
METER_PATH = "/bench/meter"
"""Where the bench app (``loadtests/bench_app.py``) answers with its meter's reading."""


@dataclass
class Run:
    target: str
    batch: int
    users: int
    requests: int
    failures: int
    rps: float
    events_per_s: float
    client_p50_ms: float | None
    client_p99_ms: float | None
    """Locust's percentiles; None for a pass that got no answer in time (locust writes N/A)."""
    server_p50_ms: float | None
    server_p95_ms: float | None
    server_p99_ms: float | None
    server_cpu_us: float | None = None
    """CPU time of the server's processes per request."""
    redis_cpu_us: float | None = None
    """CPU time of Redis per request (Redis targets)."""
    extra: dict[str, Any] = field(default_factory=dict)
    history: list[list[float]] = field(default_factory=list)
    """Per whole second of the pass: [second, answered collects, server p50 ms, server p99 ms]."""


class CpuMeter:
    """CPU seconds (user + system) used so far by a server's process tree and, if given, Redis."""

    def __init__(self, server_pid: int, redis_pid: int | None = None) -> None:
        import psutil  # the bench's own dependency (the bench and test extras), not the served product's

        self._gone = psutil.NoSuchProcess
        self.server = psutil.Process(server_pid)
        self.redis = psutil.Process(redis_pid) if redis_pid is not None else None

    @staticmethod
    def _seconds(process: Any) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    def read(self) -> tuple[float, float | None]:
        server = self._seconds(self.server)
        for child in self.server.children(recursive=True):  # the workers, when there are several
            try:
                server += self._seconds(child)
            except self._gone:
                continue
        return server, self._seconds(self.redis) if self.redis is not None else None


def _locust(
    port: int,
    user_class: str,
    users: int,
    seconds: int,
    out: Path,
    env: dict[str, str],
    rate: float | None = None,
    timings: Path | None = None,
) -> dict[str, dict[str, str]]:
    prefix = out / f"locust-{port}-{user_class}-{users}-{rate}"
    spawn_rate = str(max(users, 1))
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        spawn_rate,
        "-t",
        f"{seconds}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "ERROR",
        "--exit-code-on-error",
        "0",
        user_class,
    ]
    run_env = (
        env
        | ({"TACTFUL_BENCH_RATE": str(rate)} if rate else {})
        | ({"TACTFUL_BENCH_TIMINGS": str(timings)} if timings else {})
    )
    subprocess.run(command, env=run_env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f"{prefix}_stats.csv", newline="") as stats:
        return {row["Name"]: row for row in csv.DictReader(stats)}


def latency_history(timings: list[tuple[float, float]]) -> list[list[float]]:
    """Per whole second of a pass, from each collect's (answer time, server ms): [second, collects, p50, p99]."""
    if not timings:
        return []
    start = min(at for at, _ in timings)
    whole = int(max(at for at, _ in timings) - start)  # the last, partial second would read low
    per_second: dict[int, list[float]] = defaultdict(list)
    for at, ms in timings:
        if (second := int(at - start)) < whole:
            per_second[second].append(ms)
    return [
        [second, len(values), *(round(float(q), 3) for q in np.percentile(values, [50, 99]))]
        for second, values in sorted(per_second.items())
    ]


def _stats(port: int) -> dict[str, Any]:
    """The bench app's meter (``loadtests/bench_app.py``): collect requests and their store round trips."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{METER_PATH}", timeout=5) as response:
        stats: dict[str, Any] = orjson.loads(response.read())
    return stats


def measure(
    target: str,
    port: int,
    batch: int,
    users: int,
    seconds: int,
    out: Path,
    env: dict[str, str],
    rate: float | None = None,
    repeat: int = 1,
    cpu: CpuMeter | None = None,
) -> Run:
    """The best of ``repeat`` passes: the highest throughput, or at a fixed ``rate`` the lowest server p99.

    On a shared machine the worse passes measure the neighbours, not the code; every target and the
    bare baseline get the same number of passes.
    """
    passes = [_measure_once(target, port, batch, users, seconds, out, env, rate, cpu) for _ in range(repeat)]
    if rate is None:
        best = max(passes, key=lambda run: run.rps)
    else:
        best = min(passes, key=lambda run: run.server_p99_ms if run.server_p99_ms is not None else float("inf"))
    if repeat > 1:
        best.extra["passes"] = repeat
    return best


def _measure_once(
    target: str,
    port: int,
    batch: int,
    users: int,
    seconds: int,
    out: Path,
    env: dict[str, str],
    rate: float | None,
    cpu: CpuMeter | None = None,
) -> Run:
    before = cpu.read() if cpu is not None else None
    timings = out / f"timings-{port}-{batch}-{users}-{rate}.json"
    timings.unlink(missing_ok=True)  # an earlier pass's
    rows = _locust(
        port, "FirehoseVisitor", users, seconds, out, env | {"TACTFUL_BENCH_BATCH": str(batch)}, rate, timings
    )
    after = cpu.read() if cpu is not None else None
    client = rows.get("/v1/collect") or rows["Aggregated"]
    # Every answer's own server time (locust's "server collect" entry has whole milliseconds only); none
    # from the bare endpoint, which sends no Server-Timing.
    answered: list[tuple[float, float]] = orjson.loads(timings.read_bytes()) if timings.exists() else []
    p50, p95, p99 = (
        [round(float(q), 2) for q in np.percentile([ms for _, ms in answered], [50, 95, 99])]
        if answered
        else [None, None, None]
    )
    rps, count = _figure(client["Requests/s"]) or 0.0, int(client["Request Count"])

    def per_request(index: int) -> float | None:
        if before is None or after is None or before[index] is None or after[index] is None or not count:
            return None
        return round((after[index] - before[index]) / count * 1e6, 1)  # type: ignore[operator]

    return Run(
        target,
        batch,
        users,
        count,
        int(client["Failure Count"]),
        round(rps, 1),
        round(rps * batch, 1),
        _figure(client["50%"]),
        _figure(client["99%"]),
        p50,
        p95,
        p99,
        per_request(0),
        per_request(1),
        history=latency_history(answered),
    )


def _figure(cell: str) -> float | None:
    """A number from locust's CSV, which writes N/A where a pass had no answers to measure."""
    return None if cell in ("", "N/A") else float(cell)


def memory_per_visitor(redis_url: str, prefix: str, sample: int = 300) -> dict[str, Any]:
    """Mean bytes of a visitor's keys (session + visitor record), over a sample of visitors."""
    with redis_sync.Redis.from_url(redis_url) as client:
        sessions = [
            key for _, key in zip(range(sample), client.scan_iter(match=f"{prefix}:*:s:*", count=1000), strict=False)
        ]
        sizes = [
            (client.memory_usage(key) or 0) + (client.memory_usage(key.replace(b":s:", b":v:", 1)) or 0)
            for key in sessions
        ]
        used = client.info("memory")["used_memory"]
    return {
        "visitors_sampled": len(sizes),
        "bytes_per_visitor": round(sum(sizes) / len(sizes)) if sizes else None,
        "used_memory_bytes": used,
    }


@click.command("bench")
@click.option("--seconds", default=15, show_default=True, help="load time per run")
@click.option("--users", default=24, show_default=True, help="concurrent users for the fixed-load run")
@click.option("--saturation-users", default=96, show_default=True, help="users for the saturation run")
@click.option("--batch", "batches", default=[1, 10], multiple=True, show_default=True, type=int)
@click.option(
    "--store",
    "stores",
    default=["memory", "redis"],
    multiple=True,
    show_default=True,
    type=click.Choice(["memory", "redis"]),
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="server workers for the Redis target and for the bare endpoint it is compared with",
)
@click.option(
    "--server",
    "servers",
    default=["uvicorn"],
    multiple=True,
    show_default=True,
    type=click.Choice(SERVERS),
    help="ASGI server(s) to measure every target under (repeat to compare)",
)
@click.option(
    "--repeat",
    default=1,
    show_default=True,
    type=click.IntRange(1, 10),
    help="passes per point; the best is reported (the others measured the neighbours)",
)
@click.option(
    "--sweep",
    "sweep",
    multiple=True,
    type=click.IntRange(1),
    help="more user counts to measure every target at (repeat), for throughput against users",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="write throughput.png (against users) and latency.png (server latency over time) here",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of a table")
def bench_command(
    seconds: int,
    users: int,
    saturation_users: int,
    batches: tuple[int, ...],
    stores: tuple[str, ...],
    workers: int,
    servers: tuple[str, ...],
    repeat: int,
    sweep: tuple[int, ...],
    plots_dir: Path | None,
    as_json: bool,
) -> None:
    """Collect throughput, latency, round trips and memory per store, next to a bare FastAPI endpoint."""
    if plots_dir is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise click.UsageError("--plots needs matplotlib: pip install -e '.[bench]'") from None
    out = Path(tempfile.mkdtemp(prefix="tactful-bench-"))
    redis = start_redis() if "redis" in stores else None
    base_env = os.environ | {
        "TACTFUL_DATA_DIR": str(out / "data"),
        "TACTFUL_PUBLIC_URL": "http://127.0.0.1",
        "TACTFUL_ADMIN_TOKEN": TOKEN,
        # Every simulated visitor comes from 127.0.0.1 and sends as fast as it can.
        "TACTFUL_RATE_LIMIT_IP_PER_S": "0",
        "TACTFUL_RATE_LIMIT_VISITOR_PER_S": "0",
    }
    base_env.pop("TACTFUL_REDIS_URL", None)
    targets: list[Target] = []
    for server in servers:
        # Each target is compared with the bare endpoint on as many workers as it has (the memory
        # store always has one): like with like.
        if "memory" in stores or redis is None or workers == 1:
            targets.append(Target("bare", server, "loadtests.bare_app:app", base_env, 1))
        if redis is not None and workers > 1:
            targets.append(Target("bare", server, "loadtests.bare_app:app", base_env, workers))
        if "memory" in stores:
            targets.append(Target("memory", server, "api.main:app", base_env, 1))
        if redis is not None:
            redis_env = base_env | {"TACTFUL_REDIS_URL": redis.url, "TACTFUL_REDIS_PREFIX": f"bench-{server}"}
            targets.append(Target("redis", server, "loadtests.bench_app:app", redis_env, workers))
    runs: list[Run] = []
    notes: dict[str, Any] = {}
    try:
        for target in targets:
            redis_pid = redis.process.pid if target.store == "redis" and redis is not None and redis.process else None
            runs += measure_target(target, batches, users, saturation_users, seconds, out, repeat, redis_pid, sweep)
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
    if plots_dir is not None:
        from loadtests.plots import draw

        try:
            notes["plots"] = [str(path) for path in draw(runs, plots_dir)]
        except Exception as error:  # the figures are measured: print them whatever happened to the drawing
            notes["plots_failed"] = f"{type(error).__name__}: {error}"
    report(
        runs,
        as_json,
        {
            "users": users,
            "saturation_users": saturation_users,
            "seconds": seconds,
            "redis_workers": workers,
            "servers": list(servers),
            "repeat": repeat,
            "sweep": list(sweep),
            "cpus": os.cpu_count(),
        },
        notes,
    )


@dataclass(frozen=True)
class Target:
    store: str  # "bare", "memory" or "redis"
    server: str
    app: str
    env: dict[str, str]
    workers: int


def measure_target(
    target: Target,
    batches: tuple[int, ...],
    users: int,
    saturation_users: int,
    seconds: int,
    out: Path,
    repeat: int = 1,
    redis_pid: int | None = None,
    sweep: tuple[int, ...] = (),
) -> list[Run]:
    """Fixed load and saturation per batch size, and the ``sweep``'s user counts; for Redis also half of
    the peak and round trips per collect."""
    runs: list[Run] = []
    name = target.store if target.server == "uvicorn" else f"{target.store}@{target.server}"
    if target.workers > 1:
        name += f" x{target.workers}"
    port = free_port()
    with running(
        target.app, port, target.env, health_path="/openapi.json", workers=target.workers, server=target.server
    ) as process:
        cpu = CpuMeter(process.pid, redis_pid)
        for batch in batches:
            click.echo(f"{name}: batches of {batch}, {users} and {saturation_users} users...", err=True)
            counted = target.store == "redis" and target.workers == 1
            before = _stats(port) if counted else None
            fixed = measure(name, port, batch, users, seconds, out, target.env, repeat=repeat, cpu=cpu)
            if before is not None:
                after = _stats(port)
                trips = after["store_round_trips"]["collect"] - before["store_round_trips"]["collect"]
                collects = after["collect_requests"] - before["collect_requests"]
                fixed.extra["round_trips_per_collect"] = round(trips / max(1, collects), 3)
            saturated = measure(name, port, batch, saturation_users, seconds, out, target.env, repeat=repeat, cpu=cpu)
            saturated.extra["saturation"] = True
            closed = [fixed, saturated]
            for count in sorted(set(sweep) - {users, saturation_users}):
                point = measure(name, port, batch, count, seconds, out, target.env, repeat=repeat, cpu=cpu)
                point.extra["sweep"] = True
                closed.append(point)
            runs += closed
            if target.store == "redis":
                best = max(closed, key=lambda run: run.rps)
                # Many users each sending a little: the per-user stream stays Poisson at the asked rate,
                # and at least as many users as reached the peak, so that together they can send half of it.
                half_users = max(saturation_users, best.users)
                half = measure(
                    name,
                    port,
                    batch,
                    half_users,
                    seconds,
                    out,
                    target.env,
                    rate=best.rps / 2 / half_users,
                    repeat=repeat,
                    cpu=cpu,
                )
                half.extra["half_of_peak_rps"] = round(best.rps / 2, 1)
                runs.append(half)
    for run in runs:
        run.extra["server"] = target.server
        run.extra["workers"] = target.workers
    return runs


def report(runs: list[Run], as_json: bool, setup: dict[str, Any], notes: dict[str, Any]) -> None:
    # The baseline of a run is the bare endpoint's best under the same server, batch size and workers.
    # Its CPU baseline is the bare endpoint's cheapest request: CPU per request of bare over that of the
    # target (server and Redis together), what the throughput ratio would be if CPU were all that limits.
    best_bare: dict[tuple[str, int, int], float] = {}
    bare_cpu: dict[tuple[str, int, int], float] = {}
    for run in runs:
        if run.target.startswith("bare"):
            key = (run.extra["server"], run.batch, run.extra["workers"])
            best_bare[key] = max(best_bare.get(key, 0.0), run.rps)
            if run.server_cpu_us:
                bare_cpu[key] = min(bare_cpu.get(key, run.server_cpu_us), run.server_cpu_us)
    rows = []
    for run in runs:
        key = (run.extra["server"], run.batch, run.extra["workers"])
        base, cpu_base = best_bare.get(key), bare_cpu.get(key)
        cost = (run.server_cpu_us or 0.0) + (run.redis_cpu_us or 0.0)
        rows.append(
            asdict(run)
            | {
                "rps_vs_bare_peak": round(run.rps / base, 3) if base else None,
                "cpu_vs_bare": round(cpu_base / cost, 3) if cpu_base and cost else None,
            }
        )
    if as_json:
        click.echo(orjson.dumps({"setup": setup, "runs": rows, "notes": notes}, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"collect benchmark: {setup}")
    click.echo(
        "latency in ms; CPU in us per request (server processes, Redis); cpu ratio: bare's CPU per request "
        "over the target's"
    )
    click.echo(
        f"{'target':15} {'batch':>5} {'users':>5} {'req/s':>7} {'events/s':>9} {'vs bare':>7} "
        f"{'srv p50':>7} {'srv p95':>7} {'srv p99':>7} {'cli p99':>7} {'errors':>6} "
        f"{'srv cpu':>7} {'rds cpu':>7} {'cpu ratio':>9}  notes"
    )
    for row in rows:

        def ms(value: float | None, places: int = 1) -> str:
            return "-" if value is None else f"{value:.{places}f}"

        ratio = "-" if row["rps_vs_bare_peak"] is None else f"{row['rps_vs_bare_peak']:.2f}"
        cpu_ratio = "-" if row["cpu_vs_bare"] is None else f"{row['cpu_vs_bare']:.2f}"
        extra = {key: value for key, value in row["extra"].items() if key not in ("server", "workers")}
        click.echo(
            f"{row['target']:15} {row['batch']:>5} {row['users']:>5} {row['rps']:>7.0f} "
            f"{row['events_per_s']:>9.0f} {ratio:>7} {ms(row['server_p50_ms']):>7} "
            f"{ms(row['server_p95_ms']):>7} {ms(row['server_p99_ms']):>7} {ms(row['client_p99_ms'], 0):>7} "
            f"{row['failures']:>6} {ms(row['server_cpu_us']):>7} {ms(row['redis_cpu_us']):>7} "
            f"{cpu_ratio:>9}  {extra or ''}"
        )
    for name, value in notes.items():
        click.echo(f"{name}: {value}")
