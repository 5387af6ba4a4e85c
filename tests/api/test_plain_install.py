"""What ``pip install -e .`` alone (no extras) must be enough for: the CLI loads, ``tactful --help``
lists every command, and a developer-only command says which extra it needs instead of a traceback.

``.ci/run`` also installs the project without extras in a fresh venv and serves one collect; these
tests catch the same mistake sooner, by hiding the extras' packages from a fresh interpreter.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api import cli

ROOT = Path(__file__).resolve().parents[2]


def _extras_only() -> list[str]:
    """Import names of the packages the extras add to [project].dependencies (a dash read as ``_``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower().replace("-", "_") for r in requirements}

    extras = set().union(*(names(group) for group in project["optional-dependencies"].values()))
    return sorted(extras - names(project["dependencies"]))


def test_extras_only__include_what_the_bench_imports() -> None:
    assert {"psutil", "locust", "matplotlib", "granian", "hypercorn", "playwright"} <= set(_extras_only())


@pytest.mark.parametrize("arguments", [["--help"], ["serve", "--help"], ["learner", "--help"]])
def test_cli_without_extras__loads_and_lists_every_command(arguments: list[str]) -> None:
    blocked = _extras_only()
    code = textwrap.dedent(f"""
        import sys
        for name in {blocked!r}:
            sys.modules[name] = None  # import fails with ModuleNotFoundError, as without the extra
        from api.cli import main
        try:
            main({arguments!r})
        except SystemExit as stop:
            assert stop.code == 0, stop.code
        assert "loadtests.bench" not in sys.modules, "the bench module was imported"
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if arguments == ["--help"]:
        listed = re.findall(r"^  (\S+)", done.stdout.partition("Commands:")[2], re.MULTILINE)
        assert set(listed) == set(cli.main.commands), done.stdout


def test_lazy_command__extra_missing__names_the_module_and_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    monkeypatch.delitem(sys.modules, "loadtests.bench", raising=False)

    result = CliRunner().invoke(cli.main, ["bench", "--seconds", "1"])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "'psutil'" in result.output
    assert "pip install -e '.[bench]'" in result.output


def test_lazy_command__module_run_by_path_missing__named_before_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """locust runs the bench's locustfile by path: the bench module itself never imports it."""
    monkeypatch.setitem(sys.modules, "locust", None)

    result = CliRunner().invoke(cli.main, ["bench", "--seconds", "1"])

    assert result.exit_code == 1
    assert "'locust'" in result.output and "pip install -e '.[bench]'" in result.output


def test_plain_install__never_imports_locust_or_psutil() -> None:
    """The packages a plain install ships import neither at module level: psutil only inside the bench's
    CPU meter, and the locustfile lives in a folder that is not a package."""
    shipped = [
        path for name in ("api", "tracker", "scoring", "triggers", "loadtests") for path in (ROOT / name).rglob("*.py")
    ]
    offending = [
        str(path.relative_to(ROOT))
        for path in shipped
        if (path.parent / "__init__.py").exists()
        and re.search(r"^(import|from) (locust|psutil)\b", path.read_text(), re.MULTILINE)
    ]
    assert offending == []
    assert not (ROOT / "loadtests" / "locust" / "__init__.py").exists()


def _lazy_commands() -> list[cli._LazyCommand]:
    return [command for command in cli.main.commands.values() if isinstance(command, cli._LazyCommand)]


@pytest.mark.parametrize("lazy", _lazy_commands(), ids=lambda command: command.name)
def test_lazy_command__help_line_is_the_real_commands(lazy: cli._LazyCommand) -> None:
    real = lazy.load()
    assert isinstance(real, click.Command)
    assert lazy.get_short_help_str(limit=1000) == real.get_short_help_str(limit=1000)


def test_lazy_command__runs_the_real_command_with_its_options() -> None:
    result = CliRunner().invoke(cli.main, ["bench", "--help"])

    assert result.exit_code == 0, result.output
    assert "bench [OPTIONS]" in result.output
    assert "--seconds" in result.output
