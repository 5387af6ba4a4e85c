"""The dashboard's admin tabs in real Chromium against a real server on Redis: Team, Canned and Webhook, walked
as an admin would, with a real agent console signing in from the link the Team tab gives and a real
helpdesk receiver checking signatures with the verify function docs/integrations.md documents.

Screenshots go to var/screenshots/dashboard-admin-*.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.browser.conftest import SCREENSHOTS, axe_check, wait_for
from tests.browser.dashboards import app_on_redis
from tests.chat.test_integrations_doc import documented_verify
from tests.chat.test_webhooks import SECRET, Receiver

pytestmark = [pytest.mark.browser, pytest.mark.redis]

TOKEN = "dashboard-admin-browser-token-0123456789"


@pytest.fixture(scope="module")
def admin_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("dashadmin")
    with app_on_redis(redis_url, f"dashadmin{os.getpid()}", TOKEN, data, {"TACTFUL_REDIS_SHARDS": "4"}) as url:
        yield url


def _admin(server: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server}/v1/admin/sites/demo", headers={"authorization": f"Bearer {TOKEN}"})


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-admin-{name}.png"), full_page=True)


def _serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_dashboard_admin__team_canned_webhook__walked_as_an_admin_would(
    browser: Any, admin_server: str, helpdesk: Receiver
) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=admin_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=admin_server)
    page = context.new_page()
    errors: list[str] = []
    refused: list[str] = []  # the API's 4xx answers the walk provokes (Chromium logs each as an error)

    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        if re.match(r"Failed to load resource: .* status of 4(01|04|22)", message.text):
            refused.append(f"{message.text[-25:]} {message.location['url']}")
        else:
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    pause = page.wait_for_timeout
    try:
        page.goto("/dashboard")
        assert page.locator("#tab-team").is_hidden()  # nothing of the admin's before signing in
        page.fill("#token", TOKEN)
        page.click("#sign-in-form button[type=submit]")
        page.wait_for_selector("#funnel svg")
        assert all(page.locator(panel).is_hidden() for panel in ("#team", "#canned", "#webhook"))

        _team(page, context, admin_server, pause)
        _canned(page, admin_server)
        _webhook(page, admin_server, helpdesk, pause)

        page.click("#tab-results")
        assert page.locator("#results").is_visible()
        assert all(page.locator(panel).is_hidden() for panel in ("#team", "#canned", "#webhook"))

        # The admin token changes on the server while the page is open: the next look goes back to signing in.
        page.evaluate("() => sessionStorage.setItem('tactful.admin', 'a-token-no-longer-valid')")
        page.click("#tab-team")
        page.wait_for_function(
            "() => document.querySelector('#sign-in-error').textContent === 'The admin token was not accepted.'"
        )
        assert page.locator("#sign-in").is_visible()
        assert page.locator("#app").is_hidden()
        assert errors == []
        provoked = re.compile(r"/v1/admin/sites(/demo(/agents(/a_\w+)?|/canned|/webhook))?$")  # bad fields, no hook
        assert refused and all(provoked.search(r) for r in refused), refused
    finally:
        context.close()


def _team(page: Any, context: Any, server: str, pause: Any) -> None:
    page.click("#tab-team")
    page.wait_for_selector("#team-list > *")
    assert page.locator("#results").is_hidden() and page.locator("#tab-team").get_attribute("aria-selected") == "true"

    # A name left out: said next to the field, nothing created.
    page.fill("#agent-name", "")
    page.click("#agent-form button[type=submit]")
    page.wait_for_selector(".admin-field.invalid[data-field=name]")
    assert "1 to 80 characters" in page.text_content("#agent-name-problem")

    page.fill("#agent-name", "Tess")
    page.fill("#agent-capacity", "2")
    page.click("#agent-form button[type=submit]")
    page.wait_for_selector("#team-token", state="visible")
    assert page.locator(".admin-field.invalid").count() == 0
    token, link = page.input_value("#team-token-value"), page.input_value("#team-token-link")
    assert re.match(r"^tfa\.demo\.a_[0-9a-f]{12}\.", token) and link == f"{server}/agent#token={token}"
    assert "shown only once" in page.text_content("#team-token")
    page.click("#team-token-copy")
    page.wait_for_function("() => document.querySelector('#team-token-copied').textContent === 'Token copied.'")
    assert page.evaluate("() => navigator.clipboard.readText()") == token
    _shot(page, "team-token")
    page.click("#team-token-done")
    assert page.locator("#team-token").is_hidden()
    assert token not in page.content() and page.input_value("#team-token-value") == ""  # gone, not only out of sight

    tess = page.locator("#team-list tr", has=page.locator("th", has_text="Tess"))
    assert tess.locator(".presence").text_content() == "Offline"
    assert tess.locator(".load").text_content() == "0 of 2 chats"

    # Tess signs in with the link; the Team tab sees her online within its next look.
    console = context.new_page()
    console.goto(link)
    console.wait_for_function("() => document.querySelector('#load').textContent === '0 of 2 chats'")
    wait_for(lambda: tess.locator(".presence").text_content() == "Online", timeout=10, sleep=pause)

    # Capacity: a bad value is refused in its row, a good one reaches her console too.
    tess.locator("input[type=number]").fill("0")
    tess.locator("button", has_text="Save").click()
    page.wait_for_function("() => document.querySelector('#team-list td .problem').textContent.includes('1 to 50')")
    tess.locator("input[type=number]").fill("3")
    tess.locator("button", has_text="Save").click()
    wait_for(lambda: tess.locator(".load").text_content() == "0 of 3 chats", sleep=pause)
    assert "Tess now takes up to 3 chats at once." in page.text_content("#team-status")
    console.wait_for_function("() => document.querySelector('#load').textContent === '0 of 3 chats'")
    with _admin(server) as admin:
        assert [a["max_chats"] for a in admin.get("/agents").json() if a["name"] == "Tess"] == [3]
    _shot(page, "team")

    # A new token: asked first, then the old one stops (her console is signed out) and the new one is shown once.
    tess.locator("button", has_text="New token").click()
    page.wait_for_selector("#team-confirm", state="visible")
    assert "current token stops working" in page.text_content("#team-confirm")
    _shot(page, "team-confirm")
    page.click("#team-confirm-no")
    assert page.locator("#team-confirm").is_hidden() and page.locator("#team-token").is_hidden()
    tess.locator("button", has_text="New token").click()
    page.click("#team-confirm-yes")
    page.wait_for_selector("#team-token", state="visible")
    fresh = page.input_value("#team-token-value")
    assert fresh != token and fresh.startswith(token.rsplit(".", 1)[0] + ".")
    console.wait_for_selector("#signin", state="visible", timeout=10_000)
    assert "not valid" in console.text_content("#signin-error")
    page.click("#team-token-done")

    # Disable and enable.
    tess.locator("button", has_text="Disable").click()
    wait_for(lambda: "Disabled" in tess.text_content(), sleep=pause)
    with _admin(server) as admin:
        assert [a["disabled"] for a in admin.get("/agents").json() if a["name"] == "Tess"] == [True]
    tess.locator("button", has_text="Enable").click()
    wait_for(lambda: "Enabled" in tess.text_content(), sleep=pause)
    assert _serious(axe_check(page, "#team")) == []
    console.close()


def _canned(page: Any, server: str) -> None:
    page.click("#tab-canned")
    page.wait_for_selector("#canned-list table, #canned-list .empty")
    page.fill("#canned-shortcut", "Hello there")
    page.fill("#canned-text", "Hi! How can I help?")
    page.click("#canned-form button[type=submit]")
    page.wait_for_selector(".admin-field.invalid[data-field=shortcut]")
    assert "lowercase letters" in page.text_content("#canned-shortcut-problem")
    page.locator("#canned aside").screenshot(path=str(SCREENSHOTS / "dashboard-admin-canned-problem.png"))

    page.fill("#canned-shortcut", "/hello")  # typed as in the console: the slash is not part of it
    page.click("#canned-form button[type=submit]")
    page.wait_for_selector("#canned-list tr[data-shortcut=hello]")
    assert page.locator(".admin-field.invalid").count() == 0
    page.fill("#canned-shortcut", "returns")
    page.fill("#canned-text", "")
    page.click("#canned-form button[type=submit]")
    page.wait_for_selector(".admin-field.invalid[data-field=text]")
    page.fill("#canned-text", "You can return anything within 30 days.\nThe label is in the box.")
    page.click("#canned-form button[type=submit]")
    page.wait_for_selector("#canned-list tr[data-shortcut=returns]")
    _shot(page, "canned")
    with _admin(server) as admin:
        assert {c["shortcut"]: c["text"] for c in admin.get("/canned").json()}["hello"] == "Hi! How can I help?"

    page.click("#canned-list tr[data-shortcut=hello] button")
    page.wait_for_selector("#canned-list tr[data-shortcut=hello]", state="detached")
    assert page.text_content("#canned-status") == "Deleted /hello."
    with _admin(server) as admin:
        assert [c["shortcut"] for c in admin.get("/canned").json()] == ["returns"]
    assert _serious(axe_check(page, "#canned")) == []


def _webhook(page: Any, server: str, helpdesk: Receiver, pause: Any) -> None:
    _, verify = documented_verify()
    page.click("#tab-webhook")
    page.wait_for_selector("#webhook-counts dt")
    assert "none set" in page.text_content("#webhook-counts") and page.is_disabled("#webhook-test")
    page.fill("#webhook-url", "ftp://helpdesk.example.com/hooks")
    page.click("#webhook-form button[type=submit]")
    page.wait_for_selector(".admin-field.invalid[data-field=url]")
    page.fill("#webhook-url", helpdesk.url)
    page.fill("#webhook-secret", SECRET)
    page.click("#webhook-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#webhook-form-status').textContent === 'Saved.'")
    assert page.get_attribute("#webhook-secret", "type") == "password"

    page.click("#webhook-test")
    page.wait_for_function("() => document.querySelector('#webhook-test-result').textContent.startsWith('Delivered')")
    assert "HTTP 200" in page.text_content("#webhook-test-result")
    [(headers, body, _)] = helpdesk.requests
    assert verify(SECRET, headers["Tactful-Signature"], body)
    assert orjson.loads(body)["event"] == "webhook.test"
    row = page.locator("#webhook-deliveries tbody tr").first
    assert [row.locator("td").nth(n).text_content() for n in (1, 2, 3, 4)] == [
        "webhook.test",
        "Delivered",
        "HTTP 200",
        "1",
    ]

    helpdesk.always = 500  # the helpdesk breaks
    page.click("#webhook-test")
    page.wait_for_function("() => document.querySelector('#webhook-test-result').textContent.startsWith('Not')")
    assert "HTTP 500" in page.text_content("#webhook-test-result")
    wait_for(lambda: page.locator("#webhook-deliveries tbody tr").count() == 2, sleep=pause)
    assert page.locator("#webhook-deliveries tbody tr").first.locator(".outcome").text_content() == "Failed"
    _shot(page, "webhook")
    assert _serious(axe_check(page, "#webhook")) == []

    page.click("#webhook-remove")
    page.wait_for_selector("#webhook-confirm", state="visible")
    page.click("#webhook-confirm-yes")
    page.wait_for_function("() => document.querySelector('#webhook-counts').textContent.includes('none set')")
    assert page.is_disabled("#webhook-test") and page.locator("#webhook-confirm").is_hidden()
    with _admin(server) as admin:
        assert admin.get("/webhook").status_code == 404
