"""``tactful serve``: what it hands the server it starts."""

from __future__ import annotations

import os
from typing import Any

import pytest
from click.testing import CliRunner

from api import cli


def test_serve__other_port__public_url_follows_so_the_demo_page_may_send(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}
    monkeypatch.delenv("TACTFUL_PUBLIC_URL", raising=False)
    monkeypatch.setenv("TACTFUL_ADMIN_TOKEN", "serve-test-token-0123456789")
    monkeypatch.setattr(cli.uvicorn, "run", lambda *args, **kwargs: started.update(kwargs))

    result = CliRunner().invoke(cli.main, ["serve", "--port", "8123"])

    assert result.exit_code == 0, result.output
    assert started["port"] == 8123
    assert os.environ["TACTFUL_PUBLIC_URL"] == "http://127.0.0.1:8123"
    monkeypatch.delenv("TACTFUL_PUBLIC_URL")


def test_serve__public_url_set__kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACTFUL_PUBLIC_URL", "https://chat.example.com")
    monkeypatch.setenv("TACTFUL_ADMIN_TOKEN", "serve-test-token-0123456789")
    monkeypatch.setattr(cli.uvicorn, "run", lambda *args, **kwargs: None)

    assert CliRunner().invoke(cli.main, ["serve", "--port", "9000"]).exit_code == 0
    assert os.environ["TACTFUL_PUBLIC_URL"] == "https://chat.example.com"
