"""The dashboard's Chats and Inbox tabs in real Chromium against a real server on Redis, walked as an admin would:
search the transcripts, read one, export the search, delete a visitor's data (with its confirmation), and work
through the offline messages, the unhandled count on the tab following.

Screenshots go to var/screenshots/dashboard-chats-*.png and dashboard-inbox-*.png.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from api.chat.models import ChatRecord, Outcome, encode_chat
from api.store import RedisStore
from tests.browser.conftest import SCREENSHOTS, axe_check
from tests.browser.dashboards import app_on_redis, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.redis]

TOKEN = "dashboard-chats-browser-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
HOSTILE = "<img src=x onerror=alert(1)> where is my parcel?"
ASKER, BROWSER, OLD = "v_asker000001", "v_browser0001", "v_oldtimer001"
MINUTE = 60_000
NONE = "\N{EN DASH}"
"""What the list shows for a field that has no value yet."""


async def _chat(store: RedisStore, chat: ChatRecord, messages: list[tuple[str, str | None, str, int]]) -> None:
    """A chat as the chat service leaves it: the record, its listing copy and its messages."""
    await store.compare_and_set("demo", f"chat:{chat.id}", None, encode_chat(chat))
    await store.put_record("demo", "chat", chat.id, chat.to_dict())
    for sender, name, text, ts in messages:
        await store.append_entry("demo", f"m:{chat.id}", {"from": sender, "text": text, "ts": ts, "name": name})


async def _seed(url: str, prefix: str, now_ms: int) -> None:
    store = RedisStore(aioredis.Redis.from_url(url), prefix=prefix, shards=4)
    resolved = ChatRecord(
        id="i_resolved0001", site="demo", visitor=ASKER, state="ended", agent="a_ada", agent_name="Ada",
        agents=["a_ada"], created_ms=now_ms - 60 * MINUTE, started_ms=now_ms - 59 * MINUTE,
        ended_ms=now_ms - 50 * MINUTE, ended_by="agent", end_reason="ended", csat=5,
        outcome=Outcome(stuck=True, resolved=True, agent="a_ada", ts=now_ms - 50 * MINUTE),
        context={"reasons": ["form_errors", "rage_clicks"]},
    )  # fmt: skip
    await _chat(store, resolved, [
        ("system", None, "Ada joined the chat.", now_ms - 59 * MINUTE),
        ("visitor", None, HOSTILE, now_ms - 58 * MINUTE),
        ("agent", "Ada", "It left our warehouse this morning.", now_ms - 57 * MINUTE),
        ("visitor", None, "Thank you!", now_ms - 56 * MINUTE),
    ])  # fmt: skip
    missed = ChatRecord(
        id="i_missed000001", site="demo", visitor=ASKER, state="missed", created_ms=now_ms - 120 * MINUTE,
        ended_ms=now_ms - 118 * MINUTE, ended_by="nobody", end_reason="unanswered",
    )  # fmt: skip
    await _chat(store, missed, [("visitor", None, "Anyone there?", now_ms - 119 * MINUTE)])
    active = ChatRecord(
        id="i_active000001", site="demo", visitor=BROWSER, state="active", agent="a_uma", agent_name="Uma",
        agents=["a_uma"], created_ms=now_ms - 10 * MINUTE, started_ms=now_ms - 9 * MINUTE,
    )  # fmt: skip
    await _chat(store, active, [("visitor", None, "Is the blue one in stock?", now_ms - 9 * MINUTE)])
    old = ChatRecord(
        id="i_oldchat00001", site="demo", visitor=OLD, state="ended", agent="a_ada", agent_name="Ada",
        agents=["a_ada"], created_ms=now_ms - 5 * 1440 * MINUTE, started_ms=now_ms - 5 * 1440 * MINUTE,
        ended_ms=now_ms - 5 * 1440 * MINUTE + 5 * MINUTE, ended_by="visitor", end_reason="closed", csat=3,
    )  # fmt: skip
    await _chat(store, old, [("visitor", None, "Do you ship to Malta?", now_ms - 5 * 1440 * MINUTE)])
    await store.close()


@pytest.fixture(scope="module")
def chats_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prefix = f"dashchats{os.getpid()}"
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API owns this thread's event loop
        thread.submit(lambda: asyncio.run(_seed(redis_url, prefix, int(time.time() * 1000)))).result()
    data = tmp_path_factory.mktemp("dashchats")
    with app_on_redis(redis_url, prefix, TOKEN, data, {"TACTFUL_REDIS_SHARDS": "4"}) as url:
        for visitor, text in (
            (OLD, "Still waiting for an answer"),
            (ASKER, "Please call me about my parcel"),
            (BROWSER, "Do you have it in blue?"),
        ):  # oldest first
            form = {"site": "demo", "visitor": visitor, "email": f"{visitor}@example.org", "message": text}
            left = httpx.post(f"{url}/v1/chat/offline", json=form, headers={"origin": url})
            assert left.status_code == 201, left.text
            time.sleep(0.01)
        yield url


def _rows(page_: Any) -> list[list[str]]:
    return [
        [cell.strip() for cell in row.locator("td").all_text_contents()]
        for row in page_.locator("#chat-list tr[data-chat]").all()
    ]


def _inbox(page_: Any) -> list[str]:
    return [text.strip() for text in page_.locator("#inbox-list li .text").all_text_contents()]


def _search(page_: Any, **fields: str) -> None:
    for name, value in fields.items():
        if name == "state":
            page_.select_option("#chat-state", value)
        else:
            page_.fill(f"#chat-{name}", value)
    page_.click("#chat-search button[type=submit]")
    page_.wait_for_function("() => !document.querySelector('#chats-status').textContent.startsWith('Searching')")


def test_dashboard__chats_and_inbox__an_admin_searches_reads_exports_deletes_and_handles_messages(
    browser: Any, chats_server: str, tmp_path: Path
) -> None:
    context, page_, errors = signed_in(browser, chats_server, TOKEN)
    page_.wait_for_selector("#tab-inbox .count:not([hidden])")
    assert page_.text_content("#tab-inbox") == "Inbox3 unhandled"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # Chats: every chat, newest first, with when, visitor, agent, how it ended, outcome and rating.
    page_.click("#tab-chats")
    page_.wait_for_selector("#chat-list tr[data-chat]")
    assert page_.is_hidden("#results") and page_.is_hidden("#inbox") and page_.is_visible("#chats")
    rows = _rows(page_)
    assert [row[1:] for row in rows] == [
        [BROWSER, "Uma", "active", NONE, NONE],
        [ASKER, "Ada", "ended: the agent ended it", "resolved, was stuck", "5 / 5"],
        [ASKER, NONE, "missed: nobody answered", NONE, NONE],
        [OLD, "Ada", "ended: the visitor closed it", NONE, "3 / 5"],
    ]
    page_.screenshot(path=str(SCREENSHOTS / "dashboard-chats-list.png"), full_page=True)

    _search(page_, state="ended")
    assert [row[1] for row in _rows(page_)] == [ASKER, OLD]
    today = datetime.date.today()
    _search(page_, **{"from": (today - datetime.timedelta(days=2)).isoformat(), "to": today.isoformat()})
    assert [row[1] for row in _rows(page_)] == [ASKER]  # the ended chat of five days ago is outside the range
    _search(page_, state="", **{"from": "", "to": "", "visitor": ASKER})
    assert [row[3] for row in _rows(page_)] == ["ended: the agent ended it", "missed: nobody answered"]
    assert page_.text_content("#chats-status") == "2 chats."

    # Reading one: who said what, and when, the visitor's words as text.
    page_.locator("#chat-list tr[data-chat='i_resolved0001'] button").click()
    page_.wait_for_selector("#transcript-messages .message")
    messages = page_.locator("#transcript-messages .message")
    assert messages.count() == 4
    assert [messages.nth(i).locator(".meta strong").text_content() for i in range(4)] == [
        "Tactful",
        "Visitor",
        "Ada",
        "Visitor",
    ]
    assert messages.nth(1).locator(".text").text_content() == HOSTILE
    assert page_.locator("#transcript img").count() == 0
    assert all(":" in (messages.nth(i).locator("time").text_content() or "") for i in range(4))
    assert "form_errors, rage_clicks" in page_.text_content("#transcript-facts")
    page_.screenshot(path=str(SCREENSHOTS / "dashboard-chats-transcript.png"), full_page=True)

    # Export: the same search as JSON Lines, each chat with its messages.
    with page_.expect_download() as download:
        page_.click("#chat-export")
    saved = tmp_path / "export.jsonl"
    download.value.save_as(saved)
    exported = [json.loads(line) for line in saved.read_text().splitlines()]
    assert download.value.suggested_filename == "demo-chats.jsonl"
    assert [(chat["id"], len(chat["messages"])) for chat in exported] == [("i_resolved0001", 4), ("i_missed000001", 1)]

    # Deleting the visitor's data asks first; cancelling deletes nothing.
    page_.click("#forget-visitor")
    page_.wait_for_selector("#forget-dialog[open]")
    assert ASKER in page_.text_content("#forget-what")
    page_.screenshot(path=str(SCREENSHOTS / "dashboard-chats-confirm.png"))
    page_.click("#forget-cancel")
    assert page_.locator("#forget-dialog[open]").count() == 0
    assert len(_rows(page_)) == 2
    page_.click("#forget-visitor")
    page_.click("#forget-confirm")
    page_.wait_for_function("() => document.querySelector('#chats-status').textContent.startsWith('Deleted')")
    status = page_.text_content("#chats-status")
    assert "2 chats and 1 offline message" in status and "No chats match" in status
    assert _rows(page_) == [] and page_.is_hidden("#transcript-body")
    page_.wait_for_function("() => document.querySelector('#tab-inbox').textContent === 'Inbox2 unhandled'")
    gone = httpx.get(f"{chats_server}/v1/admin/sites/demo/chats", params={"visitor": ASKER}, headers=ADMIN)
    assert gone.json() == []

    # Inbox: the two unhandled messages left, newest first; one handled, the count follows, and with the
    # handled ones shown the unhandled come first.
    page_.click("#tab-inbox")
    page_.wait_for_selector("#inbox-list li")
    assert page_.is_hidden("#chats") and page_.is_visible("#inbox")
    assert _inbox(page_) == ["Do you have it in blue?", "Still waiting for an answer"]
    page_.screenshot(path=str(SCREENSHOTS / "dashboard-inbox-unhandled.png"), full_page=True)
    page_.locator("#inbox-list li", has_text="in blue").locator("button:text-is('Mark handled')").click()
    page_.wait_for_function("() => document.querySelector('#tab-inbox').textContent === 'Inbox1 unhandled'")
    assert _inbox(page_) == ["Still waiting for an answer"]
    assert page_.text_content("#inbox-status") == f"The message from {BROWSER}@example.org is handled."
    unhandled = httpx.get(f"{chats_server}/v1/admin/sites/demo/offline-messages?handled=false", headers=ADMIN)
    assert [m["visitor"] for m in unhandled.json()] == [OLD]

    page_.check("#inbox-all")
    page_.wait_for_selector("#inbox-list li.handled")
    assert _inbox(page_) == ["Still waiting for an answer", "Do you have it in blue?"]
    assert page_.text_content("#inbox-list li.handled .handled-status").startswith("Handled ")
    page_.screenshot(path=str(SCREENSHOTS / "dashboard-inbox-all.png"), full_page=True)
    page_.click("#inbox-list li.handled button:text-is('Mark unhandled')")
    page_.wait_for_function("() => document.querySelector('#tab-inbox').textContent === 'Inbox2 unhandled'")
    waiting = page_.locator("#inbox-list li.unhandled", has_text="Still waiting")
    waiting.locator("button:text-is('Mark handled')").click()
    page_.wait_for_function("() => document.querySelector('#tab-inbox').textContent === 'Inbox1 unhandled'")
    page_.click("#inbox-list li.unhandled button:text-is('Mark handled')")
    page_.wait_for_selector("#tab-inbox .count[hidden]", state="attached")
    assert page_.is_hidden("#inbox-count") and page_.locator("#inbox-list li.handled").count() == 2

    serious = [v for v in axe_check(page_, "#inbox") if v["impact"] in ("serious", "critical")]
    page_.click("#tab-chats")
    serious += [v for v in axe_check(page_, "#chats") if v["impact"] in ("serious", "critical")]
    assert serious == []
    assert errors == []
    context.close()
