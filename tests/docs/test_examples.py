"""The docs' examples against the code: config documents parse, the demo pages exist and are served,
the model file is where the store writes it, and the webhook verify snippet verifies real signatures."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app, open_store
from api.chat.webhooks import sign
from api.settings import Settings
from tests.chat.test_integrations_doc import documented_verify
from tests.factories import T0, body
from tracker.validation import ProtocolError, parse_batch
from triggers import SiteConfig
from triggers.presets import demo_config

DOCS = Path(__file__).resolve().parents[2] / "docs"
ORIGIN = "https://shop.example.com"


def _section(name: str, start: str, end: str) -> str:
    text = (DOCS / name).read_text("utf-8")
    assert start in text, f"docs/{name} no longer says {start!r}"
    return text.split(start, 1)[1].split(end, 1)[0]


def _config_blocks() -> list[str]:
    text = (DOCS / "configuration.md").read_text("utf-8")
    blocks = re.findall(r"```jsonc?\n(.*?)```", text, re.DOTALL)
    return ["\n".join(re.sub(r"(^|\s)//.*$", "", line) for line in block.splitlines()) for block in blocks]


def test_docs_config_blocks__found() -> None:
    assert len(_config_blocks()) >= 2  # the smallest document and the commented one


@pytest.mark.parametrize("document", _config_blocks(), ids=lambda block: block.split('"site": ', 1)[1][:8])
def test_configuration_doc__example__is_a_valid_site_config(document: str) -> None:
    config = SiteConfig.model_validate_json(document)

    assert config.site and config.allowed_origins


def _documented_demo_pages() -> tuple[list[str], list[str]]:
    """(pages, excluded) as docs/configuration.md lists the demo shop's document."""
    listed = _section("configuration.md", "the demo shop's document (", "bot when agents are busy")
    pages, excluded = listed.split("excluded", 1)[0].rsplit(";", 1)
    return re.findall(r"`(/[^`]*)`", pages), re.findall(r"`(/[^`]*)`", excluded)


def test_configuration_doc__demo_pages__are_the_demo_configs() -> None:
    pages, excluded = _documented_demo_pages()
    targeting = demo_config([ORIGIN]).targeting

    assert set(pages) == set(targeting.include_paths) - {"/demo/"}  # the slash only redirects to /demo
    assert set(excluded) == set(targeting.exclude_paths)


def test_configuration_doc__demo_pages__are_served(tmp_path: Path) -> None:
    pages, excluded = _documented_demo_pages()
    with TestClient(create_app(Settings(data_dir=tmp_path, public_url=ORIGIN))) as client:
        for path in pages + excluded:
            response = client.get(path.replace("*", "returns"))
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html"), path


async def test_scoring_doc__model_file__is_where_the_memory_store_commits(tmp_path: Path) -> None:
    documented = re.findall(r"`(TACTFUL_DATA_DIR/models/[^`]+)`", (DOCS / "scoring.md").read_text("utf-8"))
    assert documented, "docs/scoring.md names no model file"
    store = open_store(Settings(data_dir=tmp_path))

    await store.commit_learning("demo", b"model", b"state", 1, {}, [])
    await store.close()

    for path in documented:
        assert (tmp_path / path.removeprefix("TACTFUL_DATA_DIR/").replace("SITE", "demo")).is_file(), path


def test_integrations_doc__verify_snippet__verifies_what_the_code_signs() -> None:
    _, verify = documented_verify()
    body = b'{"type":"chat.requested"}'
    now = int(time.time())

    assert verify("whsec_docs_0000000000", sign("whsec_docs_0000000000", now, body), body)
    assert not verify("whsec_docs_0000000000", sign("whsec_other_000000000", now, body), body)
    assert not verify("whsec_docs_0000000000", sign("whsec_docs_0000000000", now - 301, body), body)


def test_protocol_doc__identify_error__is_what_the_server_answers() -> None:
    documented = json.loads(_section("protocol.md", "### Who the visitor is", "```\n").split("```json\n", 1)[1])
    bad = {"t": "identify", "ts": T0, "email": "ada at example"}

    with pytest.raises(ProtocolError) as refused:
        parse_batch(body([bad]))

    assert refused.value.body() == documented


def test_integrations_doc__identify_calls__are_the_commands_the_bundle_has() -> None:
    calls = set(re.findall(r"tactful\('(\w+)'", _section("integrations.md", "## Who the visitor is", "## Helpdesk")))
    identify_js = (Path(__file__).resolve().parents[2] / "widget_js" / "src" / "identify.js").read_text("utf-8")

    assert calls == {"identify"} and "commands.identify = " in identify_js
