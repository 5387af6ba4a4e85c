"""The dashboard's Webhook tab through the admin API, on both stores, against a real local receiver: a test
delivery is signed as docs/integrations.md says to verify it and answers what happened; the real delivery
loop records every attempt (retries included) on a short list the admin reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from api.chat.webhooks import DELIVERIES_KEPT
from tests.chat.conftest import Served, free_port
from tests.chat.test_integrations_doc import documented_verify
from tests.chat.test_webhooks import SECRET, Receiver

DELIVERIES = "/v1/admin/sites/demo/webhook/deliveries"


@pytest.fixture
def flaky() -> Iterator[Receiver]:
    running = Receiver(fail_first=2)
    yield running
    running.server.shutdown()
    running.server.server_close()


async def _hook(served: Served, url: str) -> None:
    async with served.http() as admin:
        response = await admin.put("/v1/admin/sites/demo/webhook", json={"url": url, "secret": SECRET})
    assert response.status_code == 200, response.text


async def test_test_delivery__signed_like_every_event__verified_by_the_documented_function(
    served: Served, helpdesk: Receiver
) -> None:
    _, verify = documented_verify()
    await _hook(served, helpdesk.url)
    async with served.http() as admin:
        response = await admin.post("/v1/admin/sites/demo/webhook/test")
        listed = (await admin.get(DELIVERIES)).json()["deliveries"]
    assert response.status_code == 200, response.text
    answer = response.json()
    [(headers, body, _)] = helpdesk.requests
    assert verify(SECRET, headers["Tactful-Signature"], body)
    assert not verify("whsec_not_the_secret_00000", headers["Tactful-Signature"], body)
    sent = orjson.loads(body)
    assert (sent["event"], sent["site"], headers["Tactful-Event"]) == ("webhook.test", "demo", "webhook.test")
    assert sent["id"] == headers["Tactful-Delivery"] == answer["id"]
    assert (answer["outcome"], answer["status"], answer["error"], answer["attempts"]) == ("delivered", 200, None, 1)
    assert 0 <= answer["duration_ms"] < 5000
    assert listed == [answer]  # on the list of deliveries, as sent


async def test_test_delivery__nobody_listening__says_unreachable(served: Served) -> None:
    await _hook(served, f"http://127.0.0.1:{free_port()}/hooks")
    async with served.http() as admin:
        answer = (await admin.post("/v1/admin/sites/demo/webhook/test")).json()
    assert (answer["outcome"], answer["status"]) == ("failed", None)
    assert answer["error"].startswith("unreachable:")


async def test_test_delivery__receiver_answers_500__status_and_error_reported(served: Served) -> None:
    broken = Receiver(always=500)
    try:
        await _hook(served, broken.url)
        async with served.http() as admin:
            answer = (await admin.post("/v1/admin/sites/demo/webhook/test")).json()
            status = (await admin.get("/v1/admin/sites/demo/webhook")).json()["status"]
    finally:
        broken.server.shutdown()
        broken.server.server_close()
    assert (answer["outcome"], answer["status"], answer["error"]) == ("failed", 500, "HTTP 500")
    assert status["failed"] == 0 and status["delivered"] == 0  # a test is not one of the site's events


async def test_test_delivery__no_webhook__404(served: Served) -> None:
    async with served.http() as admin:
        missing = await admin.post("/v1/admin/sites/demo/webhook/test")
        unknown = await admin.post("/v1/admin/sites/nosuchsite/webhook/test")
        empty = await admin.get(DELIVERIES)
    assert (missing.status_code, missing.json()["error"]) == (404, "unknown_webhook")
    assert (unknown.status_code, unknown.json()["field"]) == (404, "site")
    assert empty.json() == {"deliveries": []}


async def _wait(check: Any, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for deliveries"
        await asyncio.sleep(0.05)


async def test_deliveries__real_event_retried__every_attempt_recorded_newest_first(
    served: Served, flaky: Receiver
) -> None:
    await _hook(served, flaky.url)
    visitor_id, invite = await served.invite()
    await served.visitor(visitor_id, invite)  # chat.requested, through the outbox and the delivery loop
    await _wait(lambda: len(flaky.delivered()) >= 1)
    async with served.http() as admin:
        listed = (await admin.get(DELIVERIES)).json()["deliveries"]
    requested = [d for d in listed if d["event"] == "chat.requested"]
    assert [(d["outcome"], d["status"], d["error"], d["attempts"]) for d in requested] == [
        ("delivered", 200, None, 3),
        ("retrying", 500, "HTTP 500", 2),
        ("retrying", 500, "HTTP 500", 1),
    ]
    assert len({d["id"] for d in requested}) == 1  # one event, its Tactful-Delivery on every attempt
    assert requested[0]["id"] == flaky.requests[0][0]["Tactful-Delivery"]
    assert requested[0]["at_ms"] >= requested[1]["at_ms"] >= requested[2]["at_ms"]


async def test_deliveries__many__only_the_newest_kept(served: Served, helpdesk: Receiver) -> None:
    await _hook(served, helpdesk.url)
    async with served.http() as admin:
        tests = [await admin.post("/v1/admin/sites/demo/webhook/test") for _ in range(DELIVERIES_KEPT + 3)]
        sent = [test.json()["id"] for test in tests]
        listed = (await admin.get(DELIVERIES)).json()["deliveries"]
    assert [d["id"] for d in listed] == sent[::-1][:DELIVERIES_KEPT]
