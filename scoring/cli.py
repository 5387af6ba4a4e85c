"""``tactful evaluate`` and ``tactful warm-start``: click commands the API's CLI group registers.

I/O lives here and nowhere else in scoring's evaluation path: reading
options, printing one JSON object on stdout (progress goes to stderr, only on
a terminal, so stdout stays machine-readable), writing the snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from scoring.evaluate import LabelledCsvError, evaluate_csv
from scoring.registry import SCORERS, make_scorer

_CSV = click.Path(exists=True, dir_okay=False, path_type=Path)


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
