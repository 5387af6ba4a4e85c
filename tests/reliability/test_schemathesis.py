"""The API documents itself: schemathesis generates requests from /openapi.json (valid and invalid) against a
real server and runs every check it has: no server error, only documented status codes, responses that match
their schemas, schema-valid requests accepted, schema-invalid ones rejected, and so on."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api import Settings, create_app
from loadtests.processes import running
from loadtests.redis_server import free_port

ORIGIN = "https://shop.example"
TOKEN = "schemathesis-admin-token-0123456789"
EXAMPLES_PER_OPERATION = 40
"""Over 30 operations: more than 1,000 generated cases in all (some operations have fewer distinct ones)."""

CROSS_FIELD_RULES = {
    ("POST", "/v1/collect"): "each event's ts within 5 minutes after and 24 hours before sent_at",
    ("GET", "/v1/admin/sites/{site}/analytics"): "start before end, at most 8 days apart",
    ("GET", "/v1/admin/sites/{site}/analytics/{section}.csv"): "start before end, at most 8 days apart",
    ("POST", "/v1/admin/sites/{site}/what-if"): "start before end, at most 8 days apart",
    ("PUT", "/v1/admin/sites/{site}/config"): "the config document's own rules (its JSON Schema at "
    "/v1/admin/config/schema; every problem is named)",
    ("POST", "/v1/admin/sites/{site}/config/rollback"): "the version must be one that was recorded",
}
"""Rules between fields that JSON Schema cannot state, so a schema-valid request may break them and be
rejected, with a 400 or 422 naming the field. Only for these does the test skip the check that
schema-valid requests are accepted; every other check still runs on them."""

schema = schemathesis.openapi.from_dict(create_app(Settings(public_url=ORIGIN, admin_token=TOKEN)).openapi())


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = free_port()
    env = os.environ | {
        "TACTFUL_ADMIN_TOKEN": TOKEN,
        "TACTFUL_PUBLIC_URL": ORIGIN,
        "TACTFUL_DATA_DIR": tempfile.mkdtemp(prefix="tactful-fuzz-"),
        "TACTFUL_RATE_LIMIT_IP_PER_S": "0",
        "TACTFUL_RATE_LIMIT_VISITOR_PER_S": "0",
    }
    env.pop("TACTFUL_REDIS_URL", None)
    with running("api.main:app", port, env):
        yield f"http://127.0.0.1:{port}"


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation__generated_requests__pass_every_check(case: schemathesis.Case[Any], base_url: str) -> None:
    cross_field = (case.method.upper(), case.operation.path) in CROSS_FIELD_RULES
    excluded: list[Any] = [positive_data_acceptance] if cross_field else []
    response = case.call_and_validate(
        base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=excluded, timeout=10
    )
    content_type = response.headers.get("content-type") or [""]
    if response.status_code >= 400 and str(content_type[0]).startswith("application/json"):
        body = response.json()
        assert isinstance(body, dict) and {"error", "field", "message"} <= body.keys(), body  # the uniform shape


def test_cross_field_rules__name_real_operations() -> None:
    documented = {
        (method.upper(), path) for path, operations in schema.raw_schema["paths"].items() for method in operations
    }
    assert set(CROSS_FIELD_RULES) <= documented
