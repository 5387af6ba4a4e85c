"""``python -m api.compare_cli``: the engine against the fixed-delay rule (``triggers.compare``), as JSON."""

from __future__ import annotations

import json

import click

from triggers.compare import compare


@click.command()
@click.option("--visitors", default=400, show_default=True, help="generated visitors")
@click.option("--seed", default=7, show_default=True)
@click.option("--tick", "tick_s", default=1.0, show_default=True, help="seconds between decisions per visitor")
def main(visitors: int, seed: int, tick_s: float) -> None:
    """Print the engine against the fixed-delay rule, at an equal number of invitations, as JSON."""
    click.echo(json.dumps(compare(visitors, seed, tick_s), indent=2))


if __name__ == "__main__":
    main()
