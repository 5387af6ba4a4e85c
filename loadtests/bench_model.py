"""Scoring benchmark: speed, snapshot cost, and quality against river's plain pipeline, one run.

    python -m loadtests.bench_model [--sessions 20000]

Prints microseconds per predict / learn, snapshot size and load time, and
progressive-validation figures on river's bundled Phishing data and on the
proving ground's visitors folded through the tracker (``loadtests.proving.examples``;
the rare set with a quarter as many visitors needing help) for every candidate, with the default model's
ratios to the plain ``StandardScaler() | LogisticRegression()`` measured in the
same run (targets: predict < 20 us, learn < 100 us, snapshot < 5 MB, AUC ratio >= 1).
"""

from __future__ import annotations

import json
import pickle
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from river import compose, datasets, linear_model, optim, preprocessing

from api.learning import snapshot_files
from loadtests.proving.examples import RARE_MIX
from loadtests.proving.examples import examples as proving_examples
from scoring.base import Example, Features, Scorer, signed_log1p
from scoring.blend import default_site_scorer
from scoring.evaluate import EvaluationReport, progressive_validation
from scoring.model import LogisticParams, OnlineLogistic
from scoring.river_adapter import RiverScorer, plain_river_scorer
from tracker.features import FEATURES


def _signed_log(x: Features) -> dict[str, float]:
    return {name: signed_log1p(value) for name, value in x.items()}


CANDIDATES: dict[str, Callable[[], Scorer]] = {
    "river-plain": plain_river_scorer,
    "river-log1p": lambda: RiverScorer(
        compose.FuncTransformer(_signed_log) | preprocessing.StandardScaler() | linear_model.LogisticRegression()
    ),
    "river-log1p-adam": lambda: RiverScorer(
        compose.FuncTransformer(_signed_log)
        | preprocessing.StandardScaler()
        | linear_model.LogisticRegression(optim.Adam(0.01))
    ),
    "fused-log1p-sgd": lambda: OnlineLogistic(
        LogisticParams(learning_rate=0.01, intercept_learning_rate=0.01, adagrad=False, l2=0.0)
    ),
    "default": OnlineLogistic,
    "site (prior+default)": default_site_scorer,
}


def speed(factory: Callable[[], Scorer], examples: list[Example], repeats: int = 5) -> tuple[float, float, Scorer]:
    """(learn us, predict us) per sample on a warm model, best of ``repeats`` passes.

    The best pass, not the mean: on a shared machine the slow passes measure
    the neighbours, not the model.
    """
    scorer = factory()
    for features, label in examples:
        scorer.learn_one(features, label)
    learn_s = predict_s = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for features, _ in examples:
            scorer.predict_proba_one(features)
        predict_s = min(predict_s, time.perf_counter() - started)
        copy = pickle.loads(pickle.dumps(scorer))
        started = time.perf_counter()
        for features, label in examples:
            copy.learn_one(features, label)
        learn_s = min(learn_s, time.perf_counter() - started)
    return learn_s / len(examples) * 1e6, predict_s / len(examples) * 1e6, scorer


def snapshot_cost(scorer: Scorer, loads: int = 50) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.model"
        snapshot_files.save(path, scorer)
        started = time.perf_counter()
        for _ in range(loads):
            snapshot_files.load(path)
        load_ms = (time.perf_counter() - started) / loads * 1e3
        return {"bytes": path.stat().st_size, "load_ms": round(load_ms, 3)}


def _row(report: EvaluationReport) -> str:
    return (
        f"auc {report.roc_auc:.4f}  logloss {report.log_loss:.4f}  ece {report.calibration_error:.4f}  "
        f"predict {report.predict_us:5.1f} us  learn {report.learn_us:5.1f} us  {report.model_bytes} B"
    )


@click.command()
@click.option("--sessions", default=10_000, show_default=True, help="Proving-ground sessions for the speed run.")
def main(sessions: int) -> None:
    data: dict[str, list[Example]] = {
        "phishing": [(x, bool(y)) for x, y in datasets.Phishing()],
        "sessions": proving_examples(5000, seed=1),
        "rare_sessions": proving_examples(5000, seed=2, mix=RARE_MIX),
    }
    results: dict[str, dict[str, EvaluationReport]] = {}
    for dataset, examples in data.items():
        click.echo(
            f"\n== progressive validation: {dataset} ({len(examples)} rows, {sum(y for _, y in examples)} positive)"
        )
        results[dataset] = {}
        for name, factory in CANDIDATES.items():
            report = progressive_validation(examples, factory(), time.perf_counter)
            results[dataset][name] = report
            click.echo(f"  {name:22s} {_row(report)}")

    click.echo(f"\n== speed on {sessions} proving-ground sessions ({len(FEATURES)} features)")
    speed_examples = proving_examples(sessions, seed=3)
    timings: dict[str, tuple[float, float]] = {}
    trained: dict[str, Scorer] = {}
    for name in ("river-plain", "default", "site (prior+default)"):
        learn_us, predict_us, scorer = speed(CANDIDATES[name], speed_examples)
        timings[name] = (learn_us, predict_us)
        trained[name] = scorer
        click.echo(f"  {name:22s} predict {predict_us:5.1f} us   learn {learn_us:5.1f} us")
    cost = snapshot_cost(trained["site (prior+default)"])
    click.echo(f"\n== snapshot of the site scorer: {cost['bytes']} bytes, load {cost['load_ms']} ms")

    summary: dict[str, Any] = {
        "predict_us": round(timings["default"][1], 2),
        "learn_us": round(timings["default"][0], 2),
        "site_predict_us": round(timings["site (prior+default)"][1], 2),
        "site_learn_us": round(timings["site (prior+default)"][0], 2),
        "snapshot_bytes": cost["bytes"],
        "snapshot_load_ms": cost["load_ms"],
    }
    for dataset, reports in results.items():
        ours, plain = reports["default"], reports["river-plain"]
        assert ours.roc_auc and plain.roc_auc and ours.log_loss and plain.log_loss
        assert ours.calibration_error and plain.calibration_error
        summary[dataset] = {
            "default": ours.as_dict(),
            "plain": plain.as_dict(),
            "roc_auc_ratio": round(ours.roc_auc / plain.roc_auc, 4),
            "log_loss_ratio": round(ours.log_loss / plain.log_loss, 4),
            "calibration_error_ratio": round(ours.calibration_error / plain.calibration_error, 4),
            "predict_us_ratio": round(ours.predict_us / plain.predict_us, 4),
            "learn_us_ratio": round(ours.learn_us / plain.learn_us, 4),
        }
    click.echo("\n" + json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
