"""The core (tracker/, scoring/, triggers/) does no I/O: no Redis, HTTP, CLI, files, clock, sockets or event loop.

What the service needs of them is passed in (a clock, rows as iterables, bytes to write); the I/O edges
live under api/. Checked two ways: the modules' source, and what importing them loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ("tracker", "scoring", "triggers")
FORBIDDEN = {
    "redis",
    "hiredis",
    "fastapi",
    "starlette",
    "httpx",
    "click",
    "os",
    "pathlib",
    "time",
    "socket",
    "asyncio",
    "sqlite3",
}
LOADED_BY_NOTHING = ("redis", "fastapi", "starlette")


def _modules() -> list[Path]:
    return sorted(path for package in CORE for path in (ROOT / package).rglob("*.py"))


def _io_in(source: str) -> list[str]:
    """Every forbidden import (also inside functions) and every call of ``open``, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
            found.append(f"{node.lineno}: open(")
            continue
        else:
            continue
        found += [f"{node.lineno}: import {name}" for name in names if name.split(".")[0] in FORBIDDEN]
    return found


def test_io_check__finds_what_it_forbids() -> None:
    source = "import os\nfrom redis.asyncio import Redis\ndef f():\n    import time\n    return open('x')\n"

    assert _io_in(source) == ["1: import os", "2: import redis.asyncio", "4: import time", "5: open("]


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_core_module__imports_no_io_and_opens_no_file(path: Path) -> None:
    assert _io_in(path.read_text()) == []


def test_importing_the_core__loads_no_redis_or_http_framework() -> None:
    modules = [".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for path in _modules()]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {LOADED_BY_NOTHING!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )

    assert result.stdout.strip() == "[]"
