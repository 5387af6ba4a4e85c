"""``tactful evaluate`` and ``tactful warm-start``: click commands the API's CLI group registers.

I/O lives here and nowhere else in scoring's evaluation path: reading
options, printing one JSON object on stdout (progress goes to stderr, only on
a terminal, so stdout stays machine-readable), writing the snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from scoring import snapshot
from scoring.blend import default_site_scorer
from scoring.evaluate import LabelledCsvError, evaluate_csv, warm_start
from scoring.registry import SCORERS, make_scorer

_CSV = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("evaluate")
@click.argument("file", type=_CSV)
@click.option("--label", required=True, help="The column holding the outcome (true/false, yes/no, 1/0).")
@click.option(
    "--model", "model_name", type=click.Choice(list(SCORERS)), default="default", show_default=True,
    help="Which scorer to validate.",
)
def evaluate_command(file: Path, label: str, model_name: str) -> None:
    """Progressive (test-then-train) validation of a scorer on FILE, in file order; prints JSON."""
    try:
        report = evaluate_csv(file, label, make_scorer(model_name))
    except LabelledCsvError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(report.as_dict() | {"model": model_name}))


@click.command("warm-start")
@click.argument("file", type=_CSV)
@click.option("--label", required=True, help="The column holding the outcome.")
@click.option("--site", required=True, help="The site key whose model to train.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Snapshot file to write [default: DATA_DIR/models/SITE.model].",
)
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
    envvar="TACTFUL_DATA_DIR", show_default=True, help="The data directory (env TACTFUL_DATA_DIR).",
)
def warm_start_command(file: Path, label: str, site: str, out: Path | None, data_dir: Path) -> None:
    """Train SITE's scorer on the labelled history in FILE and save it as the site's snapshot."""
    try:
        path = out or snapshot.site_snapshot_path(data_dir, site)
        scorer = warm_start(file, label, default_site_scorer())
    except (LabelledCsvError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    header = snapshot.save(path, scorer)
    click.echo(json.dumps({
        "site": site, "path": str(path), "version": header.version, "n_learned": header.n_learned,
        "model_weight": round(scorer.model_weight, 4), "model_bytes": header.payload_bytes,
    }))
