"""``tactful replay``: what a config would have done on a recorded event log, as JSON.

This module defines the click command and reads its files (the replay itself,
pure, is ``triggers.replay``); ``api/cli.py`` registers it under the ``tactful``
group. Replays of the proposed config and of the config in force (``--baseline``)
run on the same log and print side by side.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from scoring import default_site_scorer
from triggers.config import SiteConfig
from triggers.replay import Explain, ReplayOptions, ReplayProgress, Score, replay

COMPARED = ("invitations", "expected_acceptances", "peak_expected_concurrent_chats")


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    """Entries of a JSONL event log (as the store writes it), oldest first; blank lines skipped."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as error:
                raise click.ClickException(f"{path}:{number}: not JSON: {error.msg}") from None
            if not isinstance(entry, dict):
                raise click.ClickException(f"{path}:{number}: a log entry must be a JSON object")
            yield entry


def load_config(path: Path) -> SiteConfig:
    try:
        return SiteConfig.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise click.ClickException(f"{path}: invalid site config:\n{error}") from None


def load_scorer(spec: str | None) -> tuple[Score, Explain | None]:
    """``module:name``: a function of the features, or a class or object with ``predict_proba_one``
    (and optionally ``explain``), e.g. ``scoring:StrugglePrior`` or ``triggers.standin:struggle_score``.
    None: the scorer a new site starts with (``scoring.default_site_scorer``)."""
    if spec is None:
        scorer = default_site_scorer()
        return scorer.predict_proba_one, scorer.explain
    module_name, _, attribute = spec.partition(":")
    try:
        target: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise click.ClickException(f"--scorer {spec!r}: {error}") from None
    if isinstance(target, type):
        target = target()
    if hasattr(target, "predict_proba_one"):
        return target.predict_proba_one, getattr(target, "explain", None)
    if callable(target):
        return target, None
    raise click.ClickException(f"--scorer {spec!r} is neither a function nor a scorer")


def _difference(proposed: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    return {key: round(proposed[key] - baseline[key], 3) for key in COMPARED}


@click.command("replay")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the site config to try (JSON)",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the config in force, replayed on the same log for comparison",
)
@click.option("--agents", default=2, show_default=True, type=click.IntRange(0, 10_000), help="agents online")
@click.option(
    "--new-agents",
    default=0,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="how many of them are new (lower chat limit)",
)
@click.option(
    "--tick",
    "tick_s",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.5, 600),
    help="seconds between decisions for an active visitor",
)
@click.option("--scorer", default=None, help="module:name of a scorer; default: a new site's cold-start scorer")
@click.option("--quiet", is_flag=True, help="no progress on stderr")
def replay_command(
    log: Path,
    config_path: Path,
    baseline_path: Path | None,
    agents: int,
    new_agents: int,
    tick_s: float,
    scorer: str | None,
    quiet: bool,
) -> None:
    """What CONFIG would have done on the event LOG (JSONL): invitations, expected acceptances, reasons,
    time to invitation and peak agent load, as JSON."""
    score, explain = load_scorer(scorer)
    options = ReplayOptions(agents=agents, new_agents=min(new_agents, agents), tick_s=tick_s)

    def show(progress: ReplayProgress) -> None:
        if not quiet:
            click.echo(f"replay: {progress.entries} entries, {progress.invitations} invitations", err=True)

    runs = {"proposed": load_config(config_path)}
    if baseline_path is not None:
        runs["in_force"] = load_config(baseline_path)
    result: dict[str, Any] = {}
    for name, config in runs.items():
        report = replay(read_log(log), config, score, explain=explain, options=options, progress=show)
        result[name] = {"config": config.model_dump(mode="json"), "report": report.summary()}
    if baseline_path is not None:
        result["difference"] = _difference(result["proposed"]["report"], result["in_force"]["report"])
    click.echo(json.dumps(result, indent=2))
