"""The marketer dashboard in real Chromium against a real server on Redis, seeded with two hours of traffic.

Screenshots go to var/screenshots/dashboard-*.png.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from api.store import RedisStore
from tests.browser.conftest import SCREENSHOTS, axe_check, wait_for
from tests.browser.dashboards import app_on_redis, signed_in
from tests.factories import ev, page, prepared
from tracker.days import day_of

pytestmark = [pytest.mark.browser, pytest.mark.redis]

TOKEN = "dashboard-browser-token-0123456789"
HOSTILE = "/<img src=x onerror=alert(1)>"


async def _seed(url: str, prefix: str, now_ms: int) -> None:
    """40 visitors over the last two hours: some struggle and are invited, some held out, some buy."""
    store = RedisStore(aioredis.Redis.from_url(url), prefix=prefix, shards=4)
    draw = random.Random(7)
    journal, reasons = [], {"decisions": 0}
    for n in range(40):
        visitor, session = f"v_dash{n:06d}", f"s_dash{n:06d}"
        start = now_ms - 7_000_000 + n * 170_000
        group = "holdout" if n % 8 == 0 else "rollout"
        struggling = n % 3 != 2
        checkout = HOSTILE if n == 4 else "/demo/checkout"
        events = [page(start, "/demo/"), page(start + 20_000, "/demo/cart"), page(start + 40_000, checkout)]
        if struggling:
            events += [
                ev("form_error", start + 42_000, field="postcode", form="checkout"),
                ev("rage_click", start + 44_000, count=4),
                ev("dead_click", start + 45_000),
                page(start + 47_000, "/demo/cart"),
                page(start + 50_000, checkout),
            ]
        score = round(min(0.97, (0.55 if struggling else 0.1) + draw.random() * 0.4), 3)
        stage = 3 if score >= 0.6 else 2
        record: dict[str, Any] = {
            "ts": start + 50_000,
            "v": visitor,
            "s": session,
            "g": group,
            "st": stage,
            "sc": score,
            "r": "holdout" if group == "holdout" else "below_threshold",
            "p": checkout,
        }
        if stage == 3 and group == "rollout":
            invite = f"i_dash{n:06d}"
            record |= {
                "i": invite,
                "var": ["checkout-hand", "checkout-person"][n % 2],
                "m": "agent",
                "r": "score_above_threshold",
            }
            events.append(ev("invite_shown", start + 51_000, invite=invite))
            if n % 4 != 3:
                events.append(ev("invite_accepted" if n % 2 else "invite_dismissed", start + 60_000, invite=invite))
        if n % 3 == 0:
            events.append(ev("conversion", start + 90_000, value=30.0 + n))
        journal.append(record)
        reasons["decisions"] += 10
        reasons[f"d.{record['r']}"] = reasons.get(f"d.{record['r']}", 0) + 1
        await store.ingest(prepared(events, visitor=visitor, session=session, received_ms=start + 95_000))
    await store.append_journal("demo", journal)
    await store.add_counters("demo", day_of(now_ms), reasons | {"chats_started": 9, "chats_resolved": 7})
    for minute in range(120):
        await store.put_load_sample(
            "demo",
            now_ms - (120 - minute) * 60_000,
            {
                "agents": 2 if minute < 80 else 3,
                "slots": 6 if minute < 80 else 9,
                "active": round(3 + 2 * (minute % 30) / 30),
                "reserved": 0.4,
            },
        )
    await store.put_expiring("demo", "agents", "ann", {"status": "online", "max_chats": 3}, 10**15)
    await store.close()


@pytest.fixture(scope="module")
def dashboard_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prefix = f"dash{os.getpid()}"
    now_ms = int(time.time() * 1000)
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API owns this thread's event loop
        thread.submit(lambda: asyncio.run(_seed(redis_url, prefix, now_ms))).result()
    settings = {"TACTFUL_REDIS_SHARDS": "4", "TACTFUL_SITE_REFRESH_S": "0.5"}
    with app_on_redis(redis_url, prefix, TOKEN, tmp_path_factory.mktemp("dash"), settings) as url:
        yield url


@pytest.fixture
def dashboard(browser: Any, dashboard_server: str) -> Iterator[tuple[Any, list[str]]]:
    context, page_, errors = signed_in(browser, dashboard_server, TOKEN)
    page_.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page_.wait_for_selector("#funnel svg rect")
    yield page_, errors
    context.close()


def test_dashboard__signed_in__charts_render_with_data_and_no_console_errors(dashboard: tuple[Any, list[str]]) -> None:
    page_, errors = dashboard
    page_.wait_for_selector("#load svg path")

    assert page_.locator("#funnel svg rect").count() == 11
    assert page_.locator("#histogram svg rect").count() == 20
    assert page_.locator("#load svg path.line").count() == 2
    assert page_.locator("#uplift svg circle").count() == 1
    assert "40 visitors" in page_.text_content("#report-status")
    hotspots = page_.text_content("#hotspots")
    assert HOSTILE in hotspots  # shown as text...
    assert page_.locator("#hotspots img").count() == 0  # ...never as markup
    assert page_.locator("#variants td").first.text_content() in ("checkout-hand", "checkout-person")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_.screenshot(path=str(SCREENSHOTS / "dashboard-results.png"), full_page=True)
    assert errors == []


def test_dashboard__threshold_slider__updates_the_projection(dashboard: tuple[Any, list[str]]) -> None:
    page_, errors = dashboard
    page_.wait_for_selector("#projection strong")
    before = page_.text_content("#projection")
    on_before = page_.locator("#histogram rect.on").count()

    page_.eval_on_selector("#threshold", "s => { s.value = '0.9'; s.dispatchEvent(new Event('input')); }")

    assert page_.text_content("#threshold-value") == "0.90"
    after = page_.text_content("#projection")
    assert after != before and "invitations per hour" in after
    assert page_.locator("#histogram rect.on").count() < on_before
    page_.eval_on_selector("#threshold", "s => { s.value = '0.05'; s.dispatchEvent(new Event('input')); }")
    assert page_.text_content("#projection") != after
    page_.locator("article", has=page_.locator("#histogram")).screenshot(
        path=str(SCREENSHOTS / "dashboard-threshold.png")
    )
    assert errors == []


def test_dashboard__editor__inline_problems_what_if_and_a_save_that_takes_effect(
    dashboard: tuple[Any, list[str]], dashboard_server: str
) -> None:
    page_, errors = dashboard
    collect = {
        "v": 1,
        "site": "demo",
        "visitor": "v_neworigin1",
        "session": "s_neworigin1",
        "sent_at": int(time.time() * 1000),
        "events": [{"t": "heartbeat", "ts": int(time.time() * 1000), "visible": True}],
    }
    origin = {"origin": "https://new-shop.example"}
    assert httpx.post(f"{dashboard_server}/v1/collect", json=collect, headers=origin).status_code == 403

    page_.click("#tab-rules")
    page_.wait_for_selector("#editor fieldset")
    page_.fill("#f-timing-min_pages", "-1")
    page_.wait_for_selector(".field.invalid[data-path='timing.min_pages']")
    assert "greater than or equal to 0" in page_.text_content(".field[data-path='timing.min_pages'] .problem")
    assert page_.is_disabled("#save")
    page_.fill("#f-timing-min_pages", "2")
    origins = page_.input_value("#f-allowed_origins")
    page_.fill("#f-allowed_origins", origins + "\nhttps://new-shop.example")
    page_.wait_for_selector("#changes li")
    assert "allowed_origins" in page_.text_content("#changes")
    page_.fill("#author", "Mia from marketing")

    page_.click("#whatif")
    page_.wait_for_selector("#whatif-result table")
    result = page_.text_content("#whatif-result") or ""
    assert "With your change" in result and "Sessions whose score reached the threshold" in result
    assert "as many as are online now" in result and "today's model" in page_.text_content("#whatif-why")
    page_.screenshot(path=str(SCREENSHOTS / "dashboard-rules.png"), full_page=True)

    page_.click("#save")
    page_.wait_for_function("() => document.querySelector('#save-status').textContent.startsWith('Saved as version')")
    assert "Mia from marketing" in page_.text_content("#history")

    def accepted() -> bool:
        request = urllib.request.Request(
            f"{dashboard_server}/v1/collect",
            method="POST",
            headers=origin | {"content-type": "application/json"},
            data=httpx.Request("POST", "/", json=collect).content,
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    assert wait_for(accepted, timeout=5)
    config = httpx.get(
        f"{dashboard_server}/v1/admin/sites/demo/config", headers={"authorization": f"Bearer {TOKEN}"}
    ).json()
    assert config["config"]["timing"]["min_pages"] == 2 and config["author"] == "Mia from marketing"
    assert errors == []


def test_dashboard__accessibility__no_serious_axe_violations(dashboard: tuple[Any, list[str]]) -> None:
    page_, errors = dashboard
    page_.wait_for_selector("#hotspots table")

    results = axe_check(page_, "body")
    page_.click("#tab-rules")
    page_.wait_for_selector("#editor fieldset")
    rules = axe_check(page_, "#rules")

    serious = [v for v in results + rules if v["impact"] in ("serious", "critical")]
    assert serious == []
    assert errors == []
