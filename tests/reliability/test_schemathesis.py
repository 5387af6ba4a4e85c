"""Hostile input on every documented endpoint: schemathesis generates requests from /openapi.json
(valid and invalid, a bounded number per operation) against a real server; none may answer 5xx."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from api import Settings, create_app
from loadtests.processes import running
from loadtests.redis_server import free_port
from tests.api.conftest import ORIGIN

TOKEN = "schemathesis-admin-token-0123456789"
EXAMPLES_PER_OPERATION = 10

schema = schemathesis.openapi.from_dict(create_app(Settings(public_url=ORIGIN, admin_token=TOKEN)).openapi())


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = free_port()
    env = os.environ | {"TACTFUL_ADMIN_TOKEN": TOKEN, "TACTFUL_PUBLIC_URL": ORIGIN,
                        "TACTFUL_DATA_DIR": tempfile.mkdtemp(prefix="tactful-fuzz-"),
                        "TACTFUL_RATE_LIMIT_IP_PER_S": "0", "TACTFUL_RATE_LIMIT_VISITOR_PER_S": "0"}
    env.pop("TACTFUL_REDIS_URL", None)
    with running("api.main:app", port, env):
        yield f"http://127.0.0.1:{port}"


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation__generated_requests__never_a_server_error(case: schemathesis.Case, base_url: str) -> None:
    response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    content_type = response.headers.get("content-type") or [""]
    if response.status_code >= 400 and str(content_type[0]).startswith("application/json"):
        body = response.json()
        assert isinstance(body, dict) and {"error", "field", "message"} <= body.keys(), body  # the uniform shape
