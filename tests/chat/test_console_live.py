"""The console stays current (issue #18): the visitor's context is asked for again while the chat is open and
answers with the page they are on now and the signals since; the first answer brings their earlier chats; canned
responses an admin adds reach open consoles at once; the console is told when the site's hours are closed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.shopping import ORIGIN
from tests.chat.conftest import Served, Socket
from tests.factories import body, ev, page


async def _collect(served: Served, visitor: str, events: list[dict[str, Any]]) -> None:
    async with served.http() as client:
        response = await client.post(
            "/v1/collect",
            content=body(events, visitor=visitor, session="s_" + visitor[2:], sent_at=served.app.state.engine.now_ms()),
            headers={"content-type": "text/plain", "origin": ORIGIN},
        )
    assert response.status_code in (200, 202), response.text


async def _accepted(served: Served, agent: Socket, visitor_id: str) -> tuple[str, Socket]:
    taken = await served.taken(agent, visitor_id)
    return taken.chat, taken.panel


async def test_context__asked_again__page_now_new_signals_internal_referrer_hidden_earlier_chats_listed(
    served: Served,
) -> None:
    _, token = await served.agent_token("Ada", max_chats=2)
    ada = await served.agent(token)
    visitor_id = "v_livectx0001"
    now = served.app.state.engine.now_ms()
    await _collect(served, visitor_id, [page(now - 4_000, "/demo", ref="https://www.bing.com/")])

    first, visitor = await _accepted(served, ada, visitor_id)
    await visitor.send(type="msg", cid="m_1", text="Where is my order?")
    await ada.until(lambda f: f["type"] == "msg" and f["text"] == "Where is my order?")
    await ada.send(type="end", chat=first, stuck=True, resolved=True)
    await ada.until(lambda f: f["type"] == "closed" and f["chat"] == first)

    now = served.app.state.engine.now_ms()
    await _collect(served, visitor_id, [page(now, "/demo/checkout", ref=f"{ORIGIN}/demo/cart")])
    second, _ = await _accepted(served, ada, visitor_id)
    await ada.send(type="context", chat=second, past=True)
    answer = await ada.until(lambda f: f["type"] == "context" and f["chat"] == second)
    context = answer["context"]
    assert context["current_path"] == "/demo/checkout"
    assert context["referrer"] == "https://www.bing.com/"  # where they came from, not the page before
    assert [(p["id"], p["end_reason"], p["first"]) for p in answer["past"]] == [(first, "ended", "Where is my order?")]
    assert answer["past"][0]["outcome"]["resolved"] is True

    later = served.app.state.engine.now_ms()
    await _collect(
        served,
        visitor_id,
        [page(later, "/demo/help"), ev("form_error", later + 10, form="contact", field="email")],
    )
    await ada.send(type="context", chat=second)
    moved = await ada.until(lambda f: f["type"] == "context" and f["context"]["current_path"] == "/demo/help")
    assert "past" not in moved  # earlier chats come once, with the first answer
    assert [s["detail"] for s in moved["context"]["signals"] if s["kind"] == "form_error"] == ["contact/email"]
    assert moved["context"]["time_on_site_s"] >= 4

    _, other_token = await served.agent_token("Ben")
    ben = await served.agent(other_token)
    await ben.send(type="context", chat=second)  # not Ben's chat: nothing about its visitor
    await ben.nothing(lambda f: f["type"] == "context", 0.6)


async def test_context__referrer_is_one_of_the_sites_own_pages__shown_as_direct(served: Served) -> None:
    _, token = await served.agent_token("Ada")
    ada = await served.agent(token)
    visitor_id = "v_livectx0002"
    now = served.app.state.engine.now_ms()
    await _collect(served, visitor_id, [page(now - 2_000, "/demo"), page(now, "/demo/cart", ref=f"{ORIGIN}/demo")])
    invite, _ = await _accepted(served, ada, visitor_id)
    record = await served.chat.service.chat("demo", invite)
    assert record["context"]["referrer"] is None


async def test_canned__admin_adds_and_removes__open_console_told_at_once(served: Served) -> None:
    _, token = await served.agent_token("Ada")
    ada = await served.agent(token)
    async with served.http() as client:
        added = await client.post("/v1/admin/sites/demo/canned", json={"shortcut": "ship", "text": "We ship daily."})
        assert added.status_code == 201, added.text
        told = await ada.until(lambda f: f["type"] == "canned")
        assert [(c["shortcut"], c["text"]) for c in told["canned"]] == [("ship", "We ship daily.")]
        assert (await client.delete("/v1/admin/sites/demo/canned/ship")).status_code == 204
    assert (await ada.until(lambda f: f["type"] == "canned"))["canned"] == []


async def test_site_hours__closed_today__console_told_closed_with_the_next_opening(served: Served) -> None:
    _, token = await served.agent_token("Ada")
    ada = await served.agent(token)
    assert (await ada.until(lambda f: f["type"] == "site"))["open"] is True  # the demo answers round the clock
    today = dt.datetime.fromtimestamp(served.app.state.engine.now_ms() / 1000, dt.UTC).date()
    async with served.http() as client:
        current = (await client.get("/v1/admin/sites/demo/config")).json()["config"]
        hours = {"timezone": "UTC", "weekly": {"mon": ["08:00-20:00"]}, "closed_dates": [today.isoformat()]}
        saved = await client.put("/v1/admin/sites/demo/config", json=current | {"hours": hours})
        assert saved.status_code == 200, saved.text
    closed = await ada.until(lambda f: f["type"] == "site" and not f["open"], timeout=10.0)
    assert closed["opening_hours"] == "mon 08:00-20:00 (UTC)"
    opens = dt.datetime.fromisoformat(closed["next_opening"])
    assert opens.weekday() == 0 and opens.date() > today and (opens.hour, opens.minute) == (8, 0)
