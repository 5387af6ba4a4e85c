"""``tactful bench --plots``: the run's figures as two PNG files.

- ``throughput.png``: requests/s against concurrent users for every target (one panel per batch
  size), and below it the server's p99 against users: where each target saturates, and what
  latency costs on the way there.
- ``latency.png``: the server's p50 and p99 over each second of every store run (fixed load,
  saturation and, for Redis, half of the peak rate), from the Server-Timing of each answer: a
  stall, a garbage collection or a noisy neighbour shows as a spike where a percentile hides it.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loadtests.bench import Run


def _label(run: Run) -> str:
    if "half_of_peak_rps" in run.extra:
        return f"{run.target}, half of peak ({run.rps:.0f} req/s)"
    return f"{run.target}, {run.users} users" + (" (saturation)" if run.extra.get("saturation") else "")


def _batch(size: int) -> str:
    return "batches of 1 event" if size == 1 else f"batches of {size} events"


def draw(runs: list[Run], folder: Path) -> list[Path]:
    """Writes the two plots into ``folder`` (created if needed) and returns their paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    batches = sorted({run.batch for run in runs})
    closed = [run for run in runs if "half_of_peak_rps" not in run.extra]

    colours = {target: f"C{index}" for index, target in enumerate(sorted({run.target for run in runs}))}
    figure, axes = plt.subplots(2, len(batches), figsize=(6 * len(batches), 8), squeeze=False, sharex="col")
    for column, batch in enumerate(batches):
        curves: dict[str, list[Run]] = defaultdict(list)
        for run in closed:
            if run.batch == batch:
                curves[run.target].append(run)
        top, bottom = axes[0][column], axes[1][column]
        for target, points in sorted(curves.items()):
            points.sort(key=lambda run: run.users)
            users = [run.users for run in points]
            top.plot(users, [run.rps for run in points], marker="o", label=target, color=colours[target])
            latencies = [(run.users, run.server_p99_ms) for run in points if run.server_p99_ms is not None]
            if latencies:
                bottom.plot(*zip(*latencies, strict=True), marker="o", label=target, color=colours[target])
        top.set(title=_batch(batch), ylabel="requests/s")
        bottom.set(xlabel="concurrent users", ylabel="server p99 (ms)")
        counts = sorted({run.users for run in closed if run.batch == batch})
        for axis in (top, bottom):
            axis.set_xscale("log", base=2)
            axis.set_xticks(counts, [str(count) for count in counts])
            axis.set_ylim(bottom=0)
            axis.grid(True, alpha=0.3)
            if axis.has_data():
                axis.legend()
    figure.suptitle("Collect throughput and latency against users")
    figure.tight_layout()
    throughput = folder / "throughput.png"
    figure.savefig(throughput, dpi=100)
    plt.close(figure)

    # The bare endpoint reports no server time; the sweep's extra points would crowd the picture.
    timed = [run for run in runs if run.history and not run.target.startswith("bare") and not run.extra.get("sweep")]
    figure, axes = plt.subplots(len(batches), 1, figsize=(11, 4.5 * len(batches)), squeeze=False)
    for row, batch in enumerate(batches):
        axis = axes[row][0]
        for run in (run for run in timed if run.batch == batch):
            seconds = [point[0] for point in run.history]
            (line,) = axis.plot(
                seconds, [point[3] for point in run.history], marker="o", markersize=3, label=_label(run)
            )
            axis.plot(
                seconds,
                [point[2] for point in run.history],
                linestyle="--",
                marker="o",
                markersize=3,
                color=line.get_color(),
            )
        axis.set(
            title=f"Server time in each second of each run, {_batch(batch)} (solid p99, dashed p50)",
            xlabel="second of the run",
            ylabel="server time (ms)",
        )
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        if axis.has_data():
            axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    latency = folder / "latency.png"
    figure.savefig(latency, dpi=100)
    plt.close(figure)
    return [throughput, latency]
