"""``POST /v1/collect`` through HTTP: the contract a tracker relies on."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.api.shopping import ORIGIN
from tests.factories import DESIGN_EXAMPLE
from tracker.identity import identity_of


def post(
    client: TestClient, payload: Any, *, origin: str | None = ORIGIN, content_type: str = "application/json"
) -> Any:
    headers = {"content-type": content_type}
    if origin:
        headers["origin"] = origin
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return client.post("/v1/collect", content=data, headers=headers)


def state_of(client: TestClient, visitor: str = "v_1a2b3c4d5e6f") -> Any:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    return client.portal.call(engine.store.load_visitor, "demo", visitor)  # type: ignore[union-attr]


def test_collect__design_example__accepts_every_event(client: TestClient) -> None:
    response = post(client, DESIGN_EXAMPLE)

    assert response.status_code == 200
    assert response.json() == {"accepted": 16, "decision": None}
    assert response.headers["access-control-allow-origin"] == ORIGIN
    session, _ = state_of(client)
    assert session["rc"] == "1" and session["fe"] == "1" and session["pv"] == "1"


def test_collect__text_plain_as_sendbeacon_sends__accepted(client: TestClient) -> None:
    response = post(client, DESIGN_EXAMPLE, content_type="text/plain;charset=UTF-8")

    assert response.status_code == 200 and response.json()["accepted"] == 16


def test_collect__retried_batch__acknowledged_and_not_double_counted(client: TestClient) -> None:
    post(client, DESIGN_EXAMPLE)
    retry = copy.deepcopy(DESIGN_EXAMPLE)
    retry["sent_at"] += 30_000
    response = post(client, retry)

    assert response.status_code == 200 and response.json()["accepted"] == 16
    assert state_of(client)[0]["rc"] == "1"


def _with(path: str, value: Any) -> dict[str, Any]:
    """The design example with one field replaced (``value=...`` deletes it)."""
    body = copy.deepcopy(DESIGN_EXAMPLE)
    target: Any = body
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return body


BAD_BODIES = [
    ("unknown event type", _with("events.1", {"t": "hover", "ts": 1763999991000}), "unknown_event_type", "events[1].t"),
    ("unknown field", _with("events.1.colour", "red"), "unknown_field", "events[1].colour"),
    ("unknown envelope field", _with("extra", 1), "unknown_field", "extra"),
    ("wrong type", _with("events.1.x", "120"), "invalid_value", "events[1].x"),
    ("missing field", _with("events.0.path", ...), "missing_field", "events[0].path"),
    ("missing envelope field", _with("visitor", ...), "missing_field", "visitor"),
    ("visitor id too short", _with("visitor", "v_1"), "invalid_value", "visitor"),
    ("session id bad characters", _with("session", "s_9f8e 7d6c!"), "invalid_value", "session"),
    ("id too long", _with("visitor", "v" * 65), "invalid_value", "visitor"),
    ("protocol version", _with("v", 2), "invalid_value", "v"),
    ("no events", _with("events", []), "invalid_value", "events"),
    ("too many events", _with("events", [{"t": "js_error", "ts": 1763999990000}] * 201), "invalid_value", "events"),
    (
        "event far in the future",
        _with("events.2.ts", 1764000000000 + 3_600_000),
        "timestamp_out_of_range",
        "events[2].ts",
    ),
    ("event days old", _with("events.3.ts", 1764000000000 - 3 * 86_400_000), "timestamp_out_of_range", "events[3].ts"),
    ("scroll depth over 1", _with("events.4.depth", 1.5), "invalid_value", "events[4].depth"),
    ("rage click of 2", _with("events.2.count", 2), "invalid_value", "events[2].count"),
    ("negative search results", _with("events.6.results", -1), "invalid_value", "events[6].results"),
    ("custom name with spaces", _with("events.11.name", "added to cart"), "invalid_value", "events[11].name"),
    ("events not a list", _with("events", {"t": "click"}), "invalid_value", "events"),
    (
        "identify email without a domain",
        _with("events.1", {"t": "identify", "ts": 1763999991000, "email": "ada@"}),
        "invalid_value",
        "events[1].email",
    ),
    (
        "identify email with a space",
        _with("events.1", {"t": "identify", "ts": 1763999991000, "email": "a da@x.org"}),
        "invalid_value",
        "events[1].email",
    ),
    (
        "identify email too long",
        _with("events.1", {"t": "identify", "ts": 1763999991000, "email": "a@" + "b" * 250 + ".org"}),
        "invalid_value",
        "events[1].email",
    ),
    (
        "identify name too long",
        _with("events.1", {"t": "identify", "ts": 1763999991000, "name": "A" * 129}),
        "invalid_value",
        "events[1].name",
    ),
    (
        "identify name blank",
        _with("events.1", {"t": "identify", "ts": 1763999991000, "name": "  "}),
        "invalid_value",
        "events[1].name",
    ),
    (
        "identify name not text",
        _with("events.1", {"t": "identify", "ts": 1763999991000, "name": 7}),
        "invalid_value",
        "events[1].name",
    ),
    (
        "identify a phone number",
        _with("events.1", {"t": "identify", "ts": 1763999991000, "phone": "+44 20"}),
        "unknown_field",
        "events[1].phone",
    ),
]


@pytest.mark.parametrize(("case", "body", "code", "field"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_collect__bad_body__400_naming_the_field_and_nothing_stored(
    client: TestClient, case: str, body: dict[str, Any], code: str, field: str
) -> None:
    response = post(client, body)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == code
    assert response.json()["field"] == field
    assert response.json()["message"]
    assert state_of(client) == ({}, {})


def test_collect__identify_email_not_an_address__400_says_what_an_address_looks_like(client: TestClient) -> None:
    response = post(client, _with("events.1", {"t": "identify", "ts": 1763999991000, "email": "ada at example"}))

    assert response.status_code == 400
    assert response.json()["field"] == "events[1].email"
    assert "email address such as name@example.com" in response.json()["message"]


def test_collect__identify__stored_with_the_visitor(client: TestClient) -> None:
    person = {"t": "identify", "ts": 1763999991000, "name": "Ada Lovelace", "email": "ada@example.com"}
    response = post(client, _with("events.1", person))

    assert response.status_code == 200 and response.json()["accepted"] == 16
    assert identity_of(state_of(client)[1]) == {"name": "Ada Lovelace", "email": "ada@example.com"}


@pytest.mark.parametrize("raw", [b"{", b"not json", b"\xff\xfe", b"[]", b"null", b"", b'{"v":1,'])
def test_collect__malformed_json__400(client: TestClient, raw: bytes) -> None:
    response = post(client, raw)

    assert response.status_code == 400
    assert response.json()["error"] in ("malformed_json", "invalid_value", "empty_body")


def test_collect__body_over_64_kib__413(client: TestClient) -> None:
    body = _with("events.0.title", "x" * 512)
    body["events"] = [body["events"][0]] * 150  # ~100 KiB of page views

    response = post(client, body)

    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert state_of(client) == ({}, {})


def test_collect__unknown_site__401(client: TestClient) -> None:
    response = post(client, _with("site", "nosuchsite"))

    assert response.status_code == 401
    assert response.json() == {
        "error": "unknown_site",
        "field": "site",
        "message": "no site is configured with key 'nosuchsite'",
    }


def test_collect__origin_not_allowed__403_without_cors_and_nothing_stored(client: TestClient) -> None:
    response = post(client, DESIGN_EXAMPLE, origin="https://evil.example")

    assert response.status_code == 403
    assert response.json()["field"] == "Origin"
    assert "access-control-allow-origin" not in response.headers
    assert state_of(client) == ({}, {})


def test_collect__other_content_type__415(client: TestClient) -> None:
    response = post(client, DESIGN_EXAMPLE, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415 and response.json()["field"] == "Content-Type"


def test_preflight__allowed_origin__204_with_cors(client: TestClient) -> None:
    response = client.options(
        "/v1/collect",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]


def test_preflight__unknown_origin__403(client: TestClient) -> None:
    response = client.options(
        "/v1/collect", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )

    assert response.status_code == 403


def test_health_and_ready__store_answers__200(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"ready": True}


def test_openapi__describes_the_wire_protocol(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    collect = schema["paths"]["/v1/collect"]["post"]
    assert set(collect["requestBody"]["content"]) == {"application/json", "text/plain"}
    assert {"400", "401", "403", "413", "503"} <= set(collect["responses"])
    components = schema["components"]["schemas"]
    assert components["Batch"]["required"] == ["v", "site", "visitor", "session", "sent_at", "events"]
    tags = {
        variant["$ref"].rsplit("/", 1)[1] for variant in components["Batch"]["properties"]["events"]["items"]["anyOf"]
    }
    assert {"PageView", "RageClick", "FormError", "Conversion", "InviteDismissed"} <= tags


def test_collect__served_under_a_root_path__same_answer(app_settings: Any) -> None:
    from api import create_app

    with TestClient(create_app(app_settings), root_path="/tactful") as prefixed:
        response = prefixed.post(
            "/v1/collect",
            content=orjson.dumps(DESIGN_EXAMPLE),
            headers={"origin": ORIGIN, "content-type": "application/json"},
        )

    assert response.status_code == 200 and response.json()["accepted"] == 16


def test_collect__request_id__echoed_when_sane_and_assigned_otherwise(client: TestClient) -> None:
    body = orjson.dumps(DESIGN_EXAMPLE)
    sane = client.post("/v1/collect", content=body, headers={"origin": ORIGIN, "x-request-id": "lb-77.a"})
    hostile = client.post("/v1/collect", content=body, headers={"origin": ORIGIN, "x-request-id": "<b>"})

    assert sane.headers["x-request-id"] == "lb-77.a"
    assert len(hostile.headers["x-request-id"]) == 16 and "<" not in hostile.headers["x-request-id"]


def test_collect__unexpected_error__logged_500_with_request_id_and_no_internals(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]

    async def broken(*args: Any) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(engine, "collect", broken)
    response = client.post(
        "/v1/collect", content=orjson.dumps(DESIGN_EXAMPLE), headers={"origin": ORIGIN, "x-request-id": "req-boom"}
    )

    assert response.status_code == 500 and response.headers["x-request-id"] == "req-boom"
    assert response.json() == {
        "error": "internal_error",
        "field": None,
        "message": "something went wrong on our side; it has been logged",
    }
    assert any("secret internal detail" in (record.exc_text or str(record.exc_info)) for record in caplog.records)


def test_collect__counted_in_the_route_metrics(client: TestClient) -> None:
    def sample(text: str, prefix: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))

    before = client.get("/metrics").text
    post(client, DESIGN_EXAMPLE)
    post(client, _with("site", "nosuchsite"))
    after = client.get("/metrics").text

    ok = 'tactful_responses_total{route="/v1/collect",status="2xx"}'
    refused = 'tactful_responses_total{route="/v1/collect",status="4xx"}'
    timed = 'tactful_request_duration_seconds_count{method="POST",route="/v1/collect"}'
    assert sample(after, ok) - sample(before, ok) == 1
    assert sample(after, refused) - sample(before, refused) == 1
    assert sample(after, timed) - sample(before, timed) == 2
