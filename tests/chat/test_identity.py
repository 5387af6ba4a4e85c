"""The visitor's name and email, when the site passes them (``tactful('identify', ...)``), reach the agent: in
the offer's context, in the context the console asks for again (so a later identify or a logout shows within
seconds), in the transcript and in the webhook's chat events; a privacy request removes them with the rest."""

from __future__ import annotations

import asyncio
from typing import Any

from api.chat.webhooks import OUTBOX
from api.store import RedisStore
from tests.api.shopping import ORIGIN
from tests.chat.conftest import Served, Socket
from tests.chat.test_webhooks import Receiver
from tests.factories import body, ev, page
from tests.store.test_contract_identity import raw_values

MARKER = "zq7marker"
ADA = {"name": f"Ada {MARKER} Lovelace", "email": f"ada.{MARKER}@example.com"}


async def _collect(served: Served, visitor: str, events: list[dict[str, Any]]) -> None:
    async with served.http() as client:
        response = await client.post(
            "/v1/collect",
            content=body(events, visitor=visitor, session="s_" + visitor[2:], sent_at=served.app.state.engine.now_ms()),
            headers={"content-type": "text/plain", "origin": ORIGIN},
        )
    assert response.status_code == 200, response.text


async def _accepted(served: Served, agent: Socket, visitor_id: str) -> tuple[str, dict[str, Any]]:
    taken = await served.taken(agent, visitor_id)
    return taken.chat, taken.offer["chat"]


async def _context_when(agent: Socket, chat: str, check: Any) -> dict[str, Any]:
    await agent.send(type="context", chat=chat)
    frame = await agent.until(lambda f: f["type"] == "context" and f["chat"] == chat and check(f["context"]))
    return frame["context"]  # type: ignore[no-any-return]


async def _webhook(served: Served, url: str) -> None:
    async with served.http() as client:
        hook = await client.put("/v1/admin/sites/demo/webhook", json={"url": url})
        assert hook.status_code == 200, hook.text


async def _outbox(served: Served) -> list[dict[str, Any]]:
    return [entry for _, entry in await served.store.read_entries("demo", OUTBOX)]


async def test_identify__offer_console_transcript_and_webhook_carry_it__later_calls_show_live(served: Served) -> None:
    _, token = await served.agent_token("Ben")
    ben = await served.agent(token)
    visitor_id = "v_identify001"
    now = served.app.state.engine.now_ms()
    receiver = Receiver()
    await _webhook(served, receiver.url)
    await _collect(served, visitor_id, [page(now - 2_000, "/demo/account"), ev("identify", now - 1_000, **ADA)])

    invite, offered = await _accepted(served, ben, visitor_id)
    assert offered["context"]["identity"] == ADA

    async with served.http() as client:
        transcript = (await client.get(f"/v1/admin/sites/demo/chats/{invite}")).json()
    assert transcript["context"]["identity"] == ADA
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 8
    while not receiver.delivered() and loop.time() < deadline:
        await asyncio.sleep(0.1)
    receiver.server.shutdown()
    receiver.server.server_close()
    assert receiver.delivered()[0]["event"] == "chat.requested"
    assert receiver.delivered()[0]["chat"]["context"]["identity"] == ADA
    assert MARKER not in str(await _outbox(served))  # added as it is sent: the outbox outlives a deletion

    later = served.app.state.engine.now_ms()
    king = {"name": "Ada King", "email": "ada.king@example.com"}
    await _collect(served, visitor_id, [ev("identify", later, **king)])
    assert (await _context_when(ben, invite, lambda c: c["identity"] == king))["identity"] == king

    await _collect(served, visitor_id, [ev("identify", served.app.state.engine.now_ms())])  # logout
    context = await _context_when(ben, invite, lambda c: c["identity"] is None)
    assert "identity" in context  # said as null, so a console merging answers drops what it showed


async def test_identify__never_called__context_says_nobody(served: Served) -> None:
    _, token = await served.agent_token("Ben")
    ben = await served.agent(token)
    visitor_id = "v_identify002"
    await _collect(served, visitor_id, [page(served.app.state.engine.now_ms(), "/demo/checkout")])

    _, offered = await _accepted(served, ben, visitor_id)

    assert offered["context"]["identity"] is None


async def test_identify__visitor_deleted__name_and_email_gone_from_the_store(served: Served) -> None:
    _, token = await served.agent_token("Ben")
    ben = await served.agent(token)
    visitor_id = "v_identify003"
    await _webhook(served, "http://127.0.0.1:9/unreachable")  # every event waits in the outbox
    now = served.app.state.engine.now_ms()
    await _collect(served, visitor_id, [page(now - 1_000, "/demo/account"), ev("identify", now, **ADA)])
    invite, _ = await _accepted(served, ben, visitor_id)
    await ben.send(type="end", chat=invite, stuck=False, resolved=True)
    await ben.until(lambda f: f["type"] == "closed" and f["chat"] == invite)
    if isinstance(served.store, RedisStore):  # the test can fail: it was there
        assert [value for value in await raw_values(served.store) if MARKER.encode() in value]

    async with served.http() as client:
        deleted = await client.delete(f"/v1/admin/sites/demo/visitors/{visitor_id}")
        assert deleted.status_code == 200 and deleted.json()["deleted"]["chats"] == 1
        assert (await client.get(f"/v1/admin/sites/demo/chats/{invite}")).status_code == 404

    _, record = await served.store.load_visitor("demo", visitor_id)
    assert record == {}
    assert len(await _outbox(served)) >= 2 and MARKER not in str(await _outbox(served))
    if isinstance(served.store, RedisStore):
        leftovers = [value for value in await raw_values(served.store) if MARKER.encode() in value]
        assert not leftovers, leftovers
