"""The ``tactful`` command line."""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import click
import orjson
import uvicorn
from pydantic import ValidationError

from api.learning.evaluate_cli import warm_start as train_from_history
from api.learning.learner import Learner, LearnerPool
from api.observe import configure_logging, logging_config
from api.settings import Settings
from scoring.blend import BlendedScorer, default_site_scorer
from scoring.evaluate import LabelledCsvError
from tracker.protocol import SITE_KEY


def _settings() -> Settings:
    """The settings, or a clean exit naming the offending variable."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            (f"TACTFUL_{'_'.join(str(p) for p in e['loc']).upper()}: " if e["loc"] else "")
            + str(e["msg"]).removeprefix("Value error, ")
            for e in error.errors()
        )
        raise click.UsageError(f"invalid settings: {problems}") from None


@click.group()
def main() -> None:
    """Tactful: proactive chat trigger engine."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="API worker processes (needs TACTFUL_REDIS_URL when more than 1)",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API, the demo shop, the dashboard and the agent console."""
    if "TACTFUL_PUBLIC_URL" not in os.environ:
        # Where browsers reach this server: the demo site's allowed origin and the printed links.
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["TACTFUL_PUBLIC_URL"] = f"http://{reachable}:{port}"
    settings = _settings()
    if workers > 1 and not settings.redis_url:
        raise click.UsageError("several workers share state only through Redis: set TACTFUL_REDIS_URL")
    if workers > 1 and not settings.admin_token:
        raise click.UsageError("several workers need one shared admin token: set TACTFUL_ADMIN_TOKEN")
    store = f"Redis at {settings.redis_url}" if settings.redis_url else "the embedded memory store"
    click.echo(f"Tactful on http://{host}:{port} with {store}")
    if not settings.admin_token:
        # The server runs in this process: hand it the token we print, so the two agree.
        os.environ["TACTFUL_ADMIN_TOKEN"] = settings.admin_token_value()
        click.echo(f"Admin token for this run (set TACTFUL_ADMIN_TOKEN to choose one): {settings.admin_token_value()}")
    if workers > 1:
        _shared_metrics_dir()
    uvicorn.run(
        "api.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        factory=False,
        access_log=False,
        log_config=logging_config(settings.log_format),
    )


def _shared_metrics_dir() -> None:
    """Several workers sum their metrics through files in one directory (prometheus-client's multiprocess
    mode), so that ``/metrics`` shows the totals whichever worker answers. Without
    ``PROMETHEUS_MULTIPROC_DIR`` this run gets its own directory, removed when it ends; a given one is
    emptied of an earlier run's samples, which would otherwise be counted again."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        folder = Path(tempfile.mkdtemp(prefix="tactful-metrics-"))
        atexit.register(shutil.rmtree, folder, True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


@main.command()
@click.option("--commit-every", default=2.0, show_default=True, help="seconds between model commits")
def learner(commit_every: float) -> None:
    """The single-writer learner for every site: labels from Redis in, model versions out."""
    settings = _settings()
    if not settings.redis_url:
        raise click.UsageError(
            "the learner shares models through Redis: set TACTFUL_REDIS_URL "
            "(the embedded mode runs its learner inside tactful serve)"
        )
    configure_logging(settings.log_format)
    asyncio.run(_run_learner(settings, commit_every))


async def _run_learner(settings: Settings, commit_every: float) -> None:
    from api.app import open_store

    store = open_store(settings)
    pool = LearnerPool(store, commit_every_s=commit_every, poll_sites_s=2.0)
    stopping = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        stopping.add_signal_handler(signum, lambda: asyncio.ensure_future(pool.stop()))
    click.echo(f"learner on {settings.redis_url}, committing every {commit_every} s")
    try:
        await pool.run()
    finally:
        await store.close()


@main.command("warm-start")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", required=True, help="the column holding the outcome (accepted: 1/0, true/false)")
@click.option("--site", required=True, help="the site whose model to train")
def warm_start(file: Path, label: str, site: str) -> None:
    """Train SITE's model on labelled history in FILE and commit it as the model the engine serves.

    Run it before going live, with the learner (or, in the embedded mode, tactful serve) stopped:
    it commits through the same single-writer path the learner uses.
    """
    if not re.fullmatch(SITE_KEY, site):
        raise click.BadParameter("a site key is 1 to 64 of [A-Za-z0-9_-]", param_hint="--site")
    settings = Settings()
    try:
        scorer = train_from_history(file, label, default_site_scorer())
    except (LabelledCsvError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(orjson.dumps(asyncio.run(_commit_model(settings, site, scorer))).decode())


async def _commit_model(settings: Settings, site: str, scorer: BlendedScorer) -> dict[str, object]:
    from api.app import open_store

    store = open_store(settings)
    try:
        learner = Learner(store, site)
        await learner.start()
        learner.state.scorer = scorer
        await learner.commit()
    finally:
        await store.close()
    return {
        "site": site,
        "version": scorer.version,
        "n_learned": scorer.n_learned,
        "model_weight": round(scorer.model_weight, 4),
        "store": "redis" if settings.redis_url else str(settings.data_dir / "models"),
    }


class _LazyCommand(click.Command):
    """A command listed in ``tactful --help`` whose module is imported only when it runs.

    For the developer-only commands: their modules import packages of the ``test`` or ``bench``
    extra, which the plain ``pip install -e .`` leaves out, and ``tactful serve`` must start
    without them. ``target`` is ``module:attribute`` naming the real click command; ``summary``
    is what ``tactful --help`` shows, the first sentence of the real command's help
    (tests/api/test_plain_install.py keeps the two equal); ``extra`` is the optional-dependencies
    group that provides what the module imports; ``needs`` names modules the command uses beyond
    what its module imports when it loads (run by path or imported late), checked before it runs.
    """

    def __init__(self, name: str, target: str, summary: str, extra: str, needs: tuple[str, ...] = ()) -> None:
        # Every argument, --help included, goes to the real command.
        super().__init__(
            name,
            help=summary,
            add_help_option=False,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        )
        self.target = target
        self.extra = extra
        self.needs = needs

    def _missing(self, module: str) -> click.ClickException:
        return click.ClickException(
            f"tactful {self.name} needs the Python module {module!r}, which is not installed; "
            f"it comes with the project's {self.extra!r} extra: pip install -e '.[{self.extra}]'"
        )

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        for needed in self.needs:
            if importlib.util.find_spec(needed) is None:
                raise self._missing(needed)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if not missing or missing.partition(".")[0] in _OUR_PACKAGES:
                raise  # one of ours: a bug, not a missing extra
            raise self._missing(missing) from None
        command = getattr(module, attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        # click's group runs whatever command the context it gets back holds: the real one.
        return self.load().make_context(info_name, args, parent=parent, **extra)


_OUR_PACKAGES = frozenset({"api", "loadtests", "scoring", "tracker", "triggers"})


def _register_optional_commands() -> None:
    # These need only [project].dependencies: `pip install -e .` has what they import.
    from api.learning.evaluate_cli import evaluate_command
    from api.replay_cli import replay_command

    main.add_command(evaluate_command)
    main.add_command(replay_command)
    # Developer-only commands, each needing an extra: imported when run (one line each).
    main.add_command(
        _LazyCommand(
            "bench",
            "loadtests.bench:bench_command",
            extra="bench",
            needs=("psutil", "locust"),
            summary=("Collect throughput, latency, round trips and memory per store, next to a bare FastAPI endpoint."),
        )
    )
    main.add_command(
        _LazyCommand(
            "simulate",
            "loadtests.proving.cli:simulate_command",
            extra="test",
            summary=(
                "Simulated shop visitors in simulated time through the real engine: precision, recall, latency, "
                "learning curve, against the prior alone and a fixed-delay rule."
            ),
        )
    )


_register_optional_commands()
