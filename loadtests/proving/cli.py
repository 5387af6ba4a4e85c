"""``tactful simulate``: the proving ground from the command line, as JSON and, with --plots, as pictures."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from loadtests.proving import prove, shop_config


@click.command("simulate")
@click.option("--visitors", default=2000, show_default=True, type=click.IntRange(10, 1_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--slices", default=5, show_default=True, type=click.IntRange(1, 50), help="parts of the run for the learning curve"
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a site config document (JSON) to prove instead of the documented defaults",
)
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), help="draw the figures into DIR")
@click.option(
    "--calibrate",
    is_flag=True,
    help="instead: fit the cold-start prior's weights on seeds of its own and print the fit and the "
    "calibration error of the fit and of the prior in use, on a held-out seed",
)
def simulate_command(
    visitors: int, seed: int, slices: int, config_file: Path | None, plots: Path | None, calibrate: bool
) -> None:
    """Simulated shop visitors in simulated time through the real engine: precision, recall, latency,
    learning curve, against the prior alone and a fixed-delay rule."""
    config = shop_config()
    if config_file is not None:
        config = config.model_validate(orjson.loads(config_file.read_bytes()))
    if calibrate:
        from loadtests.proving.calibrate import calibrate as fit_prior

        click.echo(orjson.dumps(fit_prior(config, visitors=visitors), option=orjson.OPT_INDENT_2).decode())
        return
    result = prove(visitors, seed, slices, config)
    if plots is not None:
        from loadtests.proving.plots import draw

        result["plots"] = [str(path) for path in draw(result, plots)]
    click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
