"""``tactful evaluate``, and the CSV files that it and ``tactful warm-start`` read.

The I/O of scoring's evaluation path (``scoring.evaluate`` is the pure part): opening
the file, reading options, printing one JSON object on stdout (progress goes to
stderr, only on a terminal, so stdout stays machine-readable).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import click

from scoring.base import Features, Scorer
from scoring.evaluate import (
    CsvStats,
    EvaluationReport,
    LabelledCsvError,
    labelled_rows,
    learn_all,
    progressive_validation,
)
from scoring.registry import SCORERS, make_scorer

_CSV = click.Path(exists=True, dir_okay=False, path_type=Path)
S = TypeVar("S", bound=Scorer)


def read_labelled_csv(path: Path, label: str, stats: CsvStats | None = None) -> Iterator[tuple[Features, bool]]:
    """(features, label) per row of the file, in file order; ``stats`` counts rows read and skipped."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        yield from labelled_rows(file, label, path.name, stats)


def count_rows(path: Path) -> int:
    with path.open("rb") as file:
        return max(0, sum(1 for _ in file) - 1)


def evaluate_csv(path: Path, label: str, scorer: Scorer, progress: bool | None = None) -> EvaluationReport:
    """Progressive validation over a CSV; the bar shows only when stderr is a terminal."""
    examples = read_labelled_csv(path, label)
    if not (sys.stderr.isatty() if progress is None else progress):
        return progressive_validation(examples, scorer, time.perf_counter)
    with click.progressbar(length=count_rows(path), file=sys.stderr, label="evaluating") as bar:
        return progressive_validation(examples, scorer, time.perf_counter, lambda: bar.update(1))


def warm_start(path: Path, label: str, scorer: S) -> S:
    """Learn every labelled row of ``path``, in order, into ``scorer`` (one version bump if it batches)."""
    return learn_all(read_labelled_csv(path, label), scorer)


@click.command("evaluate")
@click.argument("file", type=_CSV)
@click.option("--label", required=True, help="The column holding the outcome (true/false, yes/no, 1/0).")
@click.option(
    "--model",
    "model_name",
    type=click.Choice(list(SCORERS)),
    default="default",
    show_default=True,
    help="Which scorer to validate.",
)
def evaluate_command(file: Path, label: str, model_name: str) -> None:
    """Progressive (test-then-train) validation of a scorer on FILE, in file order; prints JSON."""
    try:
        report = evaluate_csv(file, label, make_scorer(model_name))
    except LabelledCsvError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report.as_dict() | {"model": model_name}))
