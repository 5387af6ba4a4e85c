"""The dashboard's Rules form in real Chromium against a real server on Redis: hours, the bot menu and
message rules edited through the form and saved; problems beside their field; the Advanced JSON view
editing the same draft as the form.

Screenshots go to var/screenshots/rules-*.png.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import SCREENSHOTS, axe_check
from tests.browser.dashboards import app_on_redis, signed_in
from tests.docs.test_examples import _config_blocks

pytestmark = [pytest.mark.browser, pytest.mark.redis]

TOKEN = "rules-form-browser-token-0123456789"
SECTIONS = ["allowed_origins", "targeting", "timing", "respect", "hours", "capacity", "fallback", "messages",
            "experiment", "page_groups"]  # fmt: skip


@pytest.fixture
def rules_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh server per test: each test saves the demo site's config."""
    prefix = f"rules{os.getpid()}{time.monotonic_ns()}"
    with app_on_redis(redis_url, prefix, TOKEN, tmp_path_factory.mktemp("rules")) as url:
        yield url


@pytest.fixture
def rules(browser: Any, rules_server: str) -> Iterator[tuple[Any, list[str]]]:
    context, page_, errors = signed_in(browser, rules_server, TOKEN)
    page_.click("#tab-rules")
    page_.wait_for_selector("#section-hours")
    yield page_, errors
    context.close()


def stored(url: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/v1/admin/sites/demo/config", headers={"authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def save(page_: Any, author: str) -> str:
    page_.wait_for_function("() => !document.querySelector('#save').disabled")
    page_.fill("#author", author)
    page_.click("#save")
    page_.wait_for_function("() => document.querySelector('#save-status').textContent.startsWith('Saved as version')")
    return str(page_.text_content("#save-status"))


def add_condition(page_: Any, path: str, name: str) -> None:
    """Pick a condition (or a text test) and add it, as a person does: choose, then press + Add."""
    page_.select_option(f"#f-{path.replace('.', '-')}-add-choice", name)
    page_.click(f"[data-focus='{path}:add']")


def shoot(page_: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_.locator(f"#section-{name}").screenshot(path=str(SCREENSHOTS / f"rules-{name}.png"))


def test_rules_form__hours_menu_and_message_rule_edited__saved_as_a_new_version(
    rules: tuple[Any, list[str]], rules_server: str
) -> None:
    page_, errors = rules
    before = stored(rules_server)["version"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_.screenshot(path=str(SCREENSHOTS / "rules-top.png"))

    # Opening hours: another zone, Monday with a lunch break, Sunday closed, a holiday.
    page_.fill("#f-hours-timezone", "Europe/Berlin")
    page_.fill("#f-hours-weekly-mon-0-start", "09:00")
    page_.fill("#f-hours-weekly-mon-0-end", "12:30")
    page_.click("[data-focus='hours.weekly.mon:add']")
    page_.fill("#f-hours-weekly-mon-1-start", "13:30")
    page_.fill("#f-hours-weekly-mon-1-end", "18:00")
    page_.click("#f-hours-weekly-sun-open")
    assert page_.text_content("[data-path='hours.weekly.sun'] .intervals") == "Closed"
    page_.click("[data-focus='hours.closed_dates:add']")
    page_.fill("#f-hours-closed_dates-0", "2026-12-25")

    # The bot menu: a new first item that answers, the payment item gone.
    menu = "fallback.bot.items"
    page_.click(f"[data-focus='{menu}:add']")
    page_.fill("#f-fallback-bot-items-3-label", "Opening times")
    page_.fill("#f-fallback-bot-items-3-answer", "We answer from 9 to 6, Monday to Saturday.")
    for index in (3, 2, 1):
        page_.click(f"[data-focus='{menu}#{index}:up']")
    assert page_.input_value("#f-fallback-bot-items-0-label") == "Opening times"
    page_.click("[aria-label='Remove “Payment problems”']")
    page_.select_option("#f-fallback-bot-items-1-children-1-does", "handoff")

    # Message rules: a new rule for the home page, moved first; a variant of the checkout rule reworded.
    page_.click("[data-focus='messages.rules:add']")
    page_.fill("#f-messages-rules-3-paths", "/demo\n/demo/")
    page_.fill("#f-messages-rules-3-variants-0-id", "welcome")
    page_.fill("#f-messages-rules-3-variants-0-text", "Welcome! Looking for something?")
    page_.click("[data-focus='messages.rules#3:up']")
    page_.click("[data-focus='messages.rules#2:up']")
    page_.click("[data-focus='messages.rules#1:up']")
    page_.fill("#f-messages-rules-1-variants-1-text", "Stuck? Someone from our team can help.")

    page_.wait_for_selector("#changes li")
    changes = page_.text_content("#changes")
    for field in ("hours.timezone", "hours.weekly", "hours.closed_dates", "fallback.bot.items", "messages.rules"):
        assert field in changes
    for name in SECTIONS:
        shoot(page_, name)
    status = save(page_, "Ola from support")

    saved = stored(rules_server)
    assert saved["version"] == before + 1 and f"version {before + 1}" in status
    assert f"version {before + 1}" in page_.text_content("#config-version")
    assert saved["author"] == "Ola from support"
    config = saved["config"]
    hours = config["hours"]
    assert hours["timezone"] == "Europe/Berlin"
    assert hours["weekly"]["mon"] == ["09:00-12:30", "13:30-18:00"]
    assert hours["weekly"]["tue"] == ["00:00-24:00"] and "sun" not in hours["weekly"]
    assert hours["closed_dates"] == ["2026-12-25"]
    items = config["fallback"]["bot"]["items"]
    assert [item["label"] for item in items] == ["Opening times", "Delivery and returns", "Talk to a person"]
    assert items[0]["answer"] == "We answer from 9 to 6, Monday to Saturday." and not items[0]["handoff"]
    returns = items[1]["children"][1]
    assert returns["label"] == "How do I return an item?" and returns["handoff"] and returns["url"] is None
    rules_ = config["messages"]["rules"]
    assert rules_[0]["paths"] == ["/demo", "/demo/"]
    assert rules_[0]["variants"] == [{"id": "welcome", "text": "Welcome! Looking for something?", "weight": 1.0}]
    assert rules_[1]["variants"][1]["text"] == "Stuck? Someone from our team can help."
    assert [rule["paths"][0] for rule in rules_[1:]] == ["/demo/checkout", "/demo/search", "/demo/product/*"]

    # The history lists the new version, and restoring the one before takes the old menu back.
    page_.click(f"#history button:has-text('Restore v{before}')")
    page_.wait_for_function("() => document.querySelector('#save-status').textContent.startsWith('Restored')")
    restored = stored(rules_server)["config"]
    assert [item["label"] for item in restored["fallback"]["bot"]["items"]][1] == "Payment problems"
    assert page_.input_value("#f-fallback-bot-items-1-label") == "Payment problems"
    assert errors == []


def test_rules_form__invalid_values__each_problem_beside_its_field_and_no_save(rules: tuple[Any, list[str]]) -> None:
    page_, errors = rules
    page_.fill("#f-fallback-bot-items-1-label", "")
    page_.fill("#f-hours-weekly-wed-0-start", "18:00")
    page_.fill("#f-hours-weekly-wed-0-end", "09:00")
    page_.fill("#f-messages-rules-0-variants-0-id", "has spaces")
    page_.fill("#f-hours-timezone", "Mars/Olympus")
    page_.fill("#f-timing-burst-sustain_s", "9")  # a rule between two fields: the API names their section

    label = page_.wait_for_selector(".field.invalid[data-path='fallback.bot.items.1.label'] .problem")
    assert "at least 1 character" in label.text_content()
    wednesday = page_.locator(".interval.invalid[data-path='hours.weekly.wed.0'] > .problem")
    assert "must end after it starts" in wednesday.text_content()
    variant = page_.locator(".field.invalid[data-path='messages.rules.0.variants.0.id'] > .problem")
    assert "should match pattern" in variant.text_content()
    zone = page_.locator(".field.invalid[data-path='hours.timezone'] > .problem")
    assert "unknown time zone 'Mars/Olympus'" in zone.text_content()
    timing = page_.locator("fieldset.invalid[data-path='timing'] > .problem")
    assert "burst only shortens it" in timing.text_content()
    assert "5 problems to fix" in page_.text_content("#editor-errors")
    assert page_.is_disabled("#save")
    shoot(page_, "hours")
    page_.locator("[data-path='fallback.bot.items.1']").screenshot(path=str(SCREENSHOTS / "rules-problem-menu.png"))

    page_.click("[data-focus='page_groups:add']")
    page_.fill("#k-page_groups-0", "")
    group = page_.wait_for_selector("li.invalid[data-path='page_groups.group-1'] > .problem")
    assert group.text_content() == "a name is needed"
    assert page_.locator(".field.invalid[data-path='messages.rules.0.variants.0.id']").count() == 1  # still checked
    page_.fill("#k-page_groups-0", "checkout")
    page_.fill("#f-page_groups-group-1", "/demo/cart")  # the row still answers to the name it had

    page_.fill("#f-hours-timezone", "Europe/Paris")
    page_.wait_for_function("() => document.querySelector('#editor-errors').textContent.startsWith('4 problems')")
    assert page_.locator(".field.invalid[data-path='hours.timezone']").count() == 0
    assert page_.locator(".field.invalid[data-path='fallback.bot.items.1.label']").count() == 1
    assert errors == []


def test_rules_form__form_to_json_and_back__the_same_draft_both_ways(
    rules: tuple[Any, list[str]], rules_server: str
) -> None:
    page_, errors = rules
    page_.click("#tab-results")  # the threshold tried on Results goes into the same draft
    page_.eval_on_selector("#threshold", "s => { s.value = '0.4'; s.dispatchEvent(new Event('input')); }")
    page_.click("#use-threshold")
    assert page_.input_value("#f-timing-score_threshold") == "0.4"
    page_.fill("#f-timing-min_pages", "3")
    add_condition(page_, "targeting.audience", "device")
    page_.uncheck("#f-targeting-audience-device-mobile")

    page_.click("#view-json")
    assert page_.is_hidden(".form-body") and page_.is_visible("#editor-json")
    document = json.loads(page_.input_value("#editor-json"))
    assert document["timing"]["min_pages"] == 3 and document["timing"]["score_threshold"] == 0.4
    assert document["targeting"]["audience"]["device"] == ["tablet", "desktop"]

    document["page_groups"] = {"checkout": ["/demo/cart", "/demo/checkout"], "product": ["/demo/product/*"]}
    document["fallback"]["bot"]["greeting"] = "Can one of these help?"
    document["respect"]["max_per_day"] = 4
    page_.fill("#editor-json", json.dumps(document, indent=2))
    page_.wait_for_function("() => document.querySelector('#changes').textContent.includes('page_groups')")
    page_.screenshot(path=str(SCREENSHOTS / "rules-advanced.png"))

    page_.fill("#editor-json", page_.input_value("#editor-json") + "}")  # no longer JSON
    page_.click("#view-form")
    assert "Fix the JSON first" in page_.text_content("#editor .views")
    assert page_.is_visible("#editor-json")
    page_.fill("#editor-json", json.dumps(document, indent=2))
    page_.click("#view-form")

    assert page_.is_visible("#section-page_groups") and page_.is_hidden("#editor-json")
    assert page_.input_value("#f-timing-min_pages") == "3"
    assert not page_.is_checked("#f-targeting-audience-device-mobile")
    assert page_.is_checked("#f-targeting-audience-device-tablet")
    assert page_.input_value("#k-page_groups-0") == "checkout"
    assert page_.input_value("#f-page_groups-checkout") == "/demo/cart\n/demo/checkout"
    assert page_.input_value("#f-fallback-bot-greeting") == "Can one of these help?"
    assert page_.input_value("#f-respect-max_per_day") == "4"
    shoot(page_, "page_groups")
    shoot(page_, "targeting")

    # Reordered in the form, renamed, then seen in JSON again: the form's edits reach the document.
    page_.click("[data-focus='page_groups#1:up']")
    page_.fill("#k-page_groups-0", "products")
    page_.click("#view-json")
    again = json.loads(page_.input_value("#editor-json"))
    assert list(again["page_groups"]) == ["products", "checkout"]
    assert again["fallback"]["bot"]["greeting"] == "Can one of these help?"

    save(page_, "Ola")
    config = stored(rules_server)["config"]
    assert config["page_groups"] == {"products": ["/demo/product/*"], "checkout": ["/demo/cart", "/demo/checkout"]}
    assert config["targeting"]["audience"]["device"] == ["tablet", "desktop"]
    assert config["timing"]["min_pages"] == 3 and config["respect"]["max_per_day"] == 4
    assert config["timing"]["score_threshold"] == 0.4
    assert errors == []


def test_rules_form__documented_example__every_section_a_form_and_nothing_changed_by_showing_it(
    rules: tuple[Any, list[str]], rules_server: str
) -> None:
    """The commented example of docs/configuration.md uses every section and every kind of audience
    condition: none of it falls back to a JSON box, and showing it in the form changes nothing."""
    page_, errors = rules
    example = json.loads(max(_config_blocks(), key=len)) | {"site": "demo"}
    put = httpx.put(
        f"{rules_server}/v1/admin/sites/demo/config", json=example, headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert put.status_code == 200, put.text
    page_.reload()  # still signed in: the token is kept for the tab's session
    page_.click("#tab-rules")
    page_.wait_for_selector("#f-targeting-audience-none-0-custom_event-name")

    assert page_.locator("#editor [data-kind=json]").count() == 0
    assert [page_.is_visible(f"#section-{name}") for name in SECTIONS] == [True] * len(SECTIONS)
    assert page_.input_value("#f-targeting-audience-none-0-custom_event-name") == "purchased"
    assert page_.input_value("#f-targeting-audience-any-2-referrer-domain") == "google.com"
    assert page_.input_value("#f-targeting-audience-any-3-utm-campaign-glob") == "summer-*"
    assert page_.input_value("#f-hours-weekly-mon-1-start") == "13:30"
    assert page_.input_value("#f-fallback-bot-items-0-children-1-url") == "/help/returns"
    assert page_.input_value("#k-page_groups-2") == "account"

    greeting = page_.input_value("#f-fallback-bot-greeting")
    page_.fill("#f-fallback-bot-greeting", greeting + "!")
    page_.wait_for_selector("#changes li")
    page_.fill("#f-fallback-bot-greeting", greeting)
    page_.wait_for_function("() => document.querySelector('#changes').textContent === 'No changes yet.'")
    assert page_.is_disabled("#save")
    page_.locator("#section-targeting").screenshot(path=str(SCREENSHOTS / "rules-audience.png"))
    assert errors == []


def test_rules_form__accessibility__no_serious_axe_violations(rules: tuple[Any, list[str]]) -> None:
    page_, errors = rules
    add_condition(page_, "targeting.audience", "referrer")
    violations = axe_check(page_, "#rules")
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == []
    page_.click("#view-json")
    violations = axe_check(page_, "#rules")
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == []
    assert errors == []
