"""Every HTML page sends a Content-Security-Policy that allows no inline script; JSON errors carry no internals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import Settings, create_app
from tests.api.shopping import ORIGIN

PAGES = [
    "/demo",
    "/demo/checkout",
    "/demo/cart",
    "/demo/product/lamp",
    "/demo/search",
    "/demo/help/shipping",
    "/agent",
    "/dashboard",
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(public_url=ORIGIN, data_dir=tmp_path_factory.mktemp("csp"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("path", PAGES)
def test_page__html__csp_without_inline_or_eval_scripts(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = directives(response.headers["content-security-policy"])
    scripts = policy.get("script-src", policy.get("default-src", []))
    assert scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "*" not in scripts
    assert policy.get("frame-ancestors") == ["'none'"]
    assert "<script>" not in response.text.replace(" ", "")  # no inline script the policy would block anyway


def test_every_html_route__served_with_a_csp(client: TestClient) -> None:
    """No HTML page escapes the list above: the interactive API docs (inline scripts) are not served."""
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200
