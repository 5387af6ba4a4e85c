"""Metrics at /metrics, request ids, and JSON logs that never carry a token or a body."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from api import create_app
from api.observe import JsonFormatter, RequestContext
from tests.api.conftest import settings
from tests.api.shopping import ORIGIN
from tests.factories import DESIGN_EXAMPLE

TOKEN = "observability-admin-token-0123456789"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent); label order does not matter."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? ([0-9.e+-]+)", line)
        if match and match.group(1) == name and dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or "")) == labels:
            return float(match.group(3))
    return 0.0


def test_metrics__after_collects__events_rejections_latency_and_decisions_counted(tmp_path: Path) -> None:
    with TestClient(create_app(settings(data_dir=tmp_path))) as client:
        before = client.get("/metrics").text
        assert client.post("/v1/collect", json=DESIGN_EXAMPLE, headers={"origin": ORIGIN}).status_code == 200
        assert client.post("/v1/collect", json=DESIGN_EXAMPLE | {"site": "nope"}).status_code == 401
        assert client.post("/v1/collect", content=b"{").status_code == 400
        response = client.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        after = response.text

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("tactful_events_accepted_total") == 16
    assert delta("tactful_collect_rejected_total", reason="unknown_site") == 1
    assert delta("tactful_collect_rejected_total", reason="malformed_json") == 1
    assert delta("tactful_request_duration_seconds_count", route="/v1/collect", method="POST") == 3
    assert delta("tactful_responses_total", route="/v1/collect", status="2xx") == 1
    assert delta("tactful_responses_total", route="/v1/collect", status="4xx") == 2
    assert sum(float(v) for v in re.findall(r"^tactful_decisions_total\{.*\} ([0-9.]+)$", after, re.M)) >= 1
    assert "tactful_model_version" in after and "tactful_store_unavailable_total" in after


def test_metrics__unknown_paths__one_unmatched_series_not_one_per_path(tmp_path: Path) -> None:
    with TestClient(create_app(settings(data_dir=tmp_path))) as client:
        for n in range(5):
            client.get(f"/no/such/{n}")
        text = client.get("/metrics").text
    assert "/no/such" not in text
    assert sample(text, "tactful_responses_total", route="unmatched", status="4xx") >= 5


def test_request_id__sane_incoming_id__echoed(tmp_path: Path) -> None:
    with TestClient(create_app(settings(data_dir=tmp_path))) as client:
        assert client.get("/healthz", headers={"x-request-id": "lb-1234.abc"}).headers["x-request-id"] == "lb-1234.abc"
        hostile_ids: list[str | bytes] = ["a" * 65, "bad id", "<script>", "x\u00e9".encode("latin-1")]
        for hostile in hostile_ids:
            headers: dict[str, Any] = {"x-request-id": hostile}
            assigned = client.get("/healthz", headers=headers).headers["x-request-id"]
            assert re.fullmatch(r"[0-9a-f]{16}", assigned)
        assert re.fullmatch(r"[0-9a-f]{16}", client.get("/healthz").headers["x-request-id"])


def test_logs__one_json_object_per_line_with_request_id__no_token_or_body(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tactful")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        with TestClient(create_app(settings(data_dir=tmp_path, admin_token=TOKEN, access_log=True))) as client:
            client.get(
                "/v1/admin/sites/demo/model", headers={"authorization": f"Bearer {TOKEN}", "x-request-id": "req-42"}
            )
            client.get("/v1/admin/sites/demo/model", headers={"authorization": "Bearer wrong-token-000000000000"})
            client.post("/v1/collect", json=DESIGN_EXAMPLE | {"visitor": "v_secretvisitor"}, headers={"origin": ORIGIN})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "tactful.access"]
    expected = {"method": "GET", "route": "/v1/admin/sites/{site}/model", "status": 200, "request_id": "req-42"}
    assert expected.items() <= access[0].items()
    assert access[1]["status"] == 401 and access[2]["route"] == "/v1/collect"
    assert all({"ts", "level", "logger", "message"} <= line.keys() for line in lines)
    text = stream.getvalue()
    assert TOKEN not in text and "wrong-token" not in text and "v_secretvisitor" not in text


def test_logs__error_inside_a_request__logged_with_its_request_id_and_no_internals_in_the_response() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    errors = logging.getLogger("tactful.errors")
    errors.addHandler(handler)
    try:
        from fastapi import FastAPI

        from api.errors import install_error_handlers

        app = FastAPI()
        install_error_handlers(app)
        app.add_middleware(RequestContext)

        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret internal detail")

        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/boom", headers={"x-request-id": "req-boom"})
    finally:
        errors.removeHandler(handler)
    assert response.status_code == 500 and "secret" not in response.text
    assert response.json()["error"] == "internal_error"
    line = orjson.loads(stream.getvalue().splitlines()[0])
    assert line["request_id"] == "req-boom" and "RuntimeError" in line["exception"]
