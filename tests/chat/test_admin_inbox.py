"""What the dashboard's Chats and Inbox tabs ask of the admin API, on both stores: chats by state, and offline
messages with a handled status that is stored with the message and goes wherever the message goes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.chat.conftest import ORIGIN, Served
from tracker.days import days_ms

BASE = "/v1/admin/sites/demo"


async def _leave(client: httpx.AsyncClient, visitor: str, message: str) -> str:
    form = {"site": "demo", "visitor": visitor, "email": "ada@example.org", "message": message}
    response = await client.post("/v1/chat/offline", json=form, headers={"Origin": ORIGIN})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _inbox(client: httpx.AsyncClient, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"{BASE}/offline-messages{query}")
    assert response.status_code == 200, response.text
    return list(response.json())


async def _mark_raw(client: httpx.AsyncClient, message_id: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{BASE}/offline-messages/{message_id}/handled", json=body)


async def _mark(client: httpx.AsyncClient, message_id: str, handled: bool) -> httpx.Response:
    return await _mark_raw(client, message_id, {"handled": handled})


async def test_chats__state_filter__only_chats_in_that_state_now(served: Served) -> None:
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    chats = []
    for _ in range(2):
        chats.append((await served.taken(agent)).opened["chat"]["id"])
    ended, active = chats
    await agent.send(type="end", chat=ended, stuck=False, resolved=True)
    await agent.until(lambda f: f["type"] == "closed" and f["chat"] == ended)

    async with served.http() as client:
        by_state = {
            state: [chat["id"] for chat in (await client.get(f"{BASE}/chats", params={"state": state})).json()]
            for state in ("ended", "active", "missed")
        }
        everything = (await client.get(f"{BASE}/chats")).json()
        bad = await client.get(f"{BASE}/chats", params={"state": "finished"})

    assert by_state == {"ended": [ended], "active": [active], "missed": []}
    assert {chat["id"] for chat in everything} == {ended, active}
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_request" and bad.json()["field"] == "state"


async def test_offline_messages__mark_handled__filters_follow_and_the_store_keeps_it(served: Served) -> None:
    async with served.http() as client:
        first = await _leave(client, "v_inbox000001", "Where is my order?")
        second = await _leave(client, "v_inbox000002", "Do you ship to Malta?")
        fresh = await _inbox(client, "?handled=false")
        assert [(m["id"], m["handled"], m["handled_ms"]) for m in fresh] == [
            (second, False, None),
            (first, False, None),
        ]

        marked = await _mark(client, first, True)
        assert marked.status_code == 200, marked.text
        assert marked.json()["id"] == first and marked.json()["handled"] is True
        assert isinstance(marked.json()["handled_ms"], int)

        assert [m["id"] for m in await _inbox(client, "?handled=false")] == [second]
        assert [m["id"] for m in await _inbox(client, "?handled=true")] == [first]
        assert [(m["id"], m["handled"]) for m in await _inbox(client)] == [(second, False), (first, True)]
        stored = await served.store.get_record("demo", "offline", first)
        assert stored["handled"] is True and stored["message"] == "Where is my order?"

        undone = await _mark(client, first, False)
        assert undone.status_code == 200 and undone.json()["handled"] is False
        assert undone.json()["handled_ms"] is None
        assert [m["id"] for m in await _inbox(client, "?handled=false")] == [second, first]
        assert await _inbox(client, "?handled=true") == []


async def test_offline_messages__bad_requests__named(served: Served) -> None:
    async with served.http() as client:
        message = await _leave(client, "v_inbox000003", "Hello?")
        unknown = await _mark(client, "o_0000000000000000", True)
        not_bool = await _mark_raw(client, message, {"handled": "yes"})
        missing = await _mark_raw(client, message, {})
        extra = await _mark_raw(client, message, {"handled": True, "by": "me"})
        bad_filter = await client.get(f"{BASE}/offline-messages", params={"handled": "maybe"})
        unknown_site = await client.post(
            "/v1/admin/sites/nosuchsite/offline-messages/o_0000000000000000/handled", json={"handled": True}
        )
        untouched = await _inbox(client)

    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": "unknown_offline_message",
        "field": "offline_id",
        "message": "no such offline message",
    }
    assert [(r.status_code, r.json()["field"]) for r in (not_bool, missing, extra)] == [
        (422, "handled"),
        (422, "handled"),
        (422, "by"),
    ]
    assert (bad_filter.status_code, bad_filter.json()["field"]) == (422, "handled")
    assert (unknown_site.status_code, unknown_site.json()["error"]) == (404, "unknown_site")
    assert [m["handled"] for m in untouched] == [False]


async def test_offline_messages__visitor_deleted__handled_message_goes_with_them(served: Served) -> None:
    async with served.http() as client:
        gone = await _leave(client, "v_inboxgone01", "Please call me")
        kept = await _leave(client, "v_inboxkept01", "Thanks!")
        for message in (gone, kept):
            assert (await _mark(client, message, True)).status_code == 200

        deleted = await client.delete(f"{BASE}/visitors/v_inboxgone01")
        assert deleted.json()["deleted"]["offline_messages"] == 1

        assert [m["id"] for m in await _inbox(client, "?handled=true")] == [kept]
        assert await served.store.get_record("demo", "offline", gone) is None
        assert (await _mark(client, gone, False)).status_code == 404  # not brought back by a late click


async def test_offline_messages__retention_sweep__removes_old_handled_messages_keeps_newer(served: Served) -> None:
    transcripts = served.chat.transcripts
    async with served.http() as client:
        old = await _leave(client, "v_inboxold001", "An old question")
        old_ts = (await _inbox(client))[0]["ts"]
        newer = await transcripts.leave_message(
            "demo", "v_inboxnew001", None, "bo@example.org", "A newer one", old_ts + days_ms(10)
        )
        for message in (old, newer["id"]):
            assert (await _mark(client, message, True)).status_code == 200

        await transcripts.sweep("demo", old_ts + days_ms(transcripts.retention_days + 1))

        assert [m["id"] for m in await _inbox(client, "?handled=true")] == [newer["id"]]
        assert await served.store.get_record("demo", "offline", old) is None
