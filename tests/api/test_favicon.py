"""The browser's automatic favicon request gets an empty answer, not a 404 in the console."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_favicon__browsers_ask__204_cached(client: TestClient) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 204 and response.content == b""
    assert "max-age" in response.headers["cache-control"]
