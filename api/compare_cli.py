"""``python -m api.compare_cli``: the engine against the fixed-delay rule (``triggers.compare``), as JSON, on the
proving ground's visitors."""

from __future__ import annotations

import json

import click

from loadtests.proving import START_MS, generate
from loadtests.proving.log import traffic
from triggers.compare import compare, comparison_config


@click.command()
@click.option("--visitors", default=400, show_default=True, help="proving-ground visitors")
@click.option("--seed", default=7, show_default=True)
@click.option("--tick", "tick_s", default=1.0, show_default=True, help="seconds between decisions per visitor")
def main(visitors: int, seed: int, tick_s: float) -> None:
    """Print the engine against the fixed-delay rule, at an equal number of invitations, as JSON."""
    visits = generate(visitors, seed, START_MS)
    result = compare(traffic(visits, comparison_config().site), tick_s)
    result["traffic"] = {"visitors": visitors, "seed": seed} | result["traffic"]
    click.echo(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
