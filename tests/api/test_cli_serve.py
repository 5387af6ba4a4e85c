"""``tactful serve``: what it hands the server it starts."""

from __future__ import annotations

import os
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from api import cli


def test_serve__other_port__public_url_follows_so_the_demo_page_may_send(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}
    monkeypatch.delenv("TACTFUL_PUBLIC_URL", raising=False)
    monkeypatch.setenv("TACTFUL_ADMIN_TOKEN", "serve-test-token-0123456789")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.update(kwargs))

    result = CliRunner().invoke(cli.main, ["serve", "--port", "8123"])

    assert result.exit_code == 0, result.output
    assert started["port"] == 8123
    assert os.environ["TACTFUL_PUBLIC_URL"] == "http://127.0.0.1:8123"
    monkeypatch.delenv("TACTFUL_PUBLIC_URL")


def test_serve__public_url_set__kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACTFUL_PUBLIC_URL", "https://chat.example.com")
    monkeypatch.setenv("TACTFUL_ADMIN_TOKEN", "serve-test-token-0123456789")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)

    assert CliRunner().invoke(cli.main, ["serve", "--port", "9000"]).exit_code == 0
    assert os.environ["TACTFUL_PUBLIC_URL"] == "https://chat.example.com"


def test_serve__workers_with_a_metrics_directory__earlier_samples_cleared(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A given PROMETHEUS_MULTIPROC_DIR is kept, without the last run's sample files (they would be summed)."""
    (tmp_path / "counter_4242.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("TACTFUL_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("TACTFUL_ADMIN_TOKEN", "serve-test-token-0123456789")
    monkeypatch.setenv("TACTFUL_PUBLIC_URL", "http://127.0.0.1:8000")
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)

    assert CliRunner().invoke(cli.main, ["serve", "--workers", "2"]).exit_code == 0
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
