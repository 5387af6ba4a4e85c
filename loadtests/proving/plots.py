"""The proving ground's figures as PNGs: the learning curve (precision and recall per slice, engine against
the prior alone) and latency. Needs matplotlib (the ``test`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def draw(result: dict[str, Any], directory: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the install
        raise SystemExit("tactful simulate --plots needs matplotlib: pip install -e '.[test]'") from error
    directory.mkdir(parents=True, exist_ok=True)
    slices = [row["slice"] for row in result["slices"]]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label, style in (("slices", "engine (learning)", "-"), ("prior_alone_slices", "prior alone", "--")):
        rows = result[key]
        left.plot(slices, [row["precision"] for row in rows], style + "o", label=f"precision, {label}")
        left.plot(slices, [row["recall"] for row in rows], style + "s", label=f"recall, {label}")
        right.plot(
            slices,
            [(row["by_kind"].get("signin_decliner") or {}).get("invited_share") for row in rows],
            style + "o",
            label=f"sign-in decliners invited, {label}",
        )
        right.plot(
            slices,
            [(row["by_kind"].get("checkout_struggler") or {}).get("invited_share") for row in rows],
            style + "s",
            label=f"checkout strugglers invited, {label}",
        )
    left.axhline(0.85, color="grey", linewidth=0.8)
    left.set(
        xlabel="slice of the run (arrival order)",
        ylabel="share",
        ylim=(0, 1.05),
        xticks=slices,
        title="Precision and recall as the site learns",
    )
    right.set(
        xlabel="slice of the run (arrival order)",
        ylabel="share invited",
        ylim=(0, 1.05),
        xticks=slices,
        title="A page group whose strugglers decline",
    )
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    figure.tight_layout()
    curve = directory / "learning_curve.png"
    figure.savefig(curve, dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 4))
    medians = [row["latency_s"]["median"] for row in result["slices"]]
    p90s = [row["latency_s"]["p90"] for row in result["slices"]]
    axis.plot(slices, medians, "-o", label="median")
    axis.plot(slices, p90s, "-s", label="p90")
    axis.axhline(8, color="grey", linewidth=0.8)
    axis.axhline(15, color="grey", linewidth=0.8, linestyle="--")
    axis.set(
        xlabel="slice of the run (arrival order)", ylabel="seconds", xticks=slices, title="Struggle onset to invitation"
    )
    axis.legend()
    figure.tight_layout()
    latency = directory / "latency.png"
    figure.savefig(latency, dpi=110)
    plt.close(figure)
    return [curve, latency]
