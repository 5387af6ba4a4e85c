"""The ``tactful`` command line."""

from __future__ import annotations

import click
import uvicorn

from api.settings import Settings


@click.group()
def main() -> None:
    """Tactful: proactive chat trigger engine."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="API worker processes (needs TACTFUL_REDIS_URL when more than 1)")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API, the demo shop, the dashboard and the agent console."""
    settings = Settings()
    if workers > 1 and not settings.redis_url:
        raise click.UsageError("several workers share state only through Redis: set TACTFUL_REDIS_URL")
    store = f"Redis at {settings.redis_url}" if settings.redis_url else "the embedded memory store"
    click.echo(f"Tactful on http://{host}:{port} with {store}")
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, log_level="info",
                factory=False, access_log=False)


def _register_optional_commands() -> None:
    from loadtests.bench import bench_command

    main.add_command(bench_command)


_register_optional_commands()
