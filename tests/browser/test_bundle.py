"""The bundle as served: size budgets, headers, and the minifier it goes through. No browser needed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes import pages

TRACKER_BUDGET = 6 * 1024
BUNDLE_BUDGET = 15 * 1024


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(pages.router)
    with TestClient(app) as test_client:
        yield test_client


def served_gzip_bytes(client: TestClient, path: str) -> int:
    response = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    return int(response.headers["content-length"])


def test_size__tracker_alone__under_6_kib_gzip(client: TestClient) -> None:
    size = served_gzip_bytes(client, "/tactful-tracker.js")
    assert size < TRACKER_BUDGET, f"tracker is {size} bytes gzip, budget {TRACKER_BUDGET}"


def test_size__whole_bundle__under_15_kib_gzip(client: TestClient) -> None:
    size = served_gzip_bytes(client, "/tactful.js")
    assert size < BUNDLE_BUDGET, f"bundle is {size} bytes gzip, budget {BUNDLE_BUDGET}"


def test_served__headers_for_a_public_script(client: TestClient) -> None:
    response = client.get("/tactful.js", headers={"Accept-Encoding": "identity"})
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "content-encoding" not in response.headers
    assert response.headers["cache-control"].startswith("public, max-age=300")
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.text.startswith("/*! Tactful tactful.js ")
    again = client.get("/tactful.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_served__gzip_refused_with_q_zero__plain_body(client: TestClient) -> None:
    response = client.get("/tactful.js", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in response.headers
    assert response.content.startswith(b"/*!")  # a plain script, not gzip bytes


def test_demo_pages__strict_csp_and_no_path_escape(client: TestClient) -> None:
    for path in (
        "/demo",
        "/demo/product/aurora-kettle",
        "/demo/search",
        "/demo/cart",
        "/demo/checkout",
        "/demo/help",
        "/demo/help/returns",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        assert "<script>" not in response.text and " on" + "click=" not in response.text
    for path in ("/demo/assets/..%2F..%2Fapp.py", "/demo/product/..%2Findex", "/demo/secret", "/demo/assets/x.py"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("var a = b / 2; // half\nvar c = 1;", "var a=b/2;var c=1;"),
        ("var r = /[/]\\//g.test(x);", "var r=/[/]\\//g.test(x);"),
        ('var s = \'// not a comment\' + "a\\"b";', 'var s=\'// not a comment\'+"a\\"b";'),
        ("return /x/i;", "return/x/i;"),
        ("x = a + +b;\ny = c - -d;", "x=a+ +b;y=c- -d;"),
        ("if (a) {\n  b = c\n}\nd()", "if(a){b=c}\nd()"),
        ("/* block */ typeof x", "typeof x"),
    ],
)
def test_minify__keeps_strings_regexes_and_meaningful_breaks(source: str, expected: str) -> None:
    assert pages.minify(source) == expected


def test_minify__template_literal__refused() -> None:
    with pytest.raises(ValueError, match="template literals"):
        pages.minify("var a = `x`;")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is optional; it only double-checks the syntax")
@pytest.mark.parametrize("name", pages.bundle_names())
def test_bundle__parses_as_javascript(name: str, tmp_path: Path) -> None:
    script = tmp_path / name
    script.write_bytes(pages.bundle(name).body)
    subprocess.run(["node", "--check", str(script)], check=True, capture_output=True)
