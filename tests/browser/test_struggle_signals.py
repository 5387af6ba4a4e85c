"""Struggle signals mean struggle: what the tracker leaves out of rage clicks, dead clicks and form errors.

The rules are widget_js/src/clicks.js's and activity.js's, published in docs/protocol.md. Every test
runs on tests/browser/pages/struggle.html and ends on a genuine struggle (a sentinel), so "nothing
reported" means the tracker saw the clicks and judged them, not that it was not listening.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, Watched

pytestmark = pytest.mark.browser

PAGE = Path(__file__).parent / "pages" / "struggle.html"
PATH = "/fixtures/struggle"
RAGE_SENTINEL = "div#price"  # a plain div that does nothing: hammered, it is a rage click
DEAD_SENTINEL = "button#save"  # a button that does nothing: clicked, it is a dead click
REQUIRED = {
    "firstName",
    "lastName",
    "address",
    "country",
    "state",
    "zip",
    "cc-name",
    "cc-number",
    "cc-expiration",
    "cc-cvv",
}
SETTLE_S = 1.2  # past both the rage streak's 1 s gap and the dead-click window


def open_page(watched: Watched) -> str:
    """The fixture page on the test server's origin (the demo site allows it); returns the visitor."""
    html = PAGE.read_text("utf-8")
    context = watched.page.context
    context.route(f"**{PATH}", lambda route: route.fulfill(content_type="text/html", body=html))
    context.route(
        "**/fixtures/terms",
        lambda route: route.fulfill(content_type="text/html", body="<!doctype html><title>Terms</title>"),
    )
    context.route(
        "**/fixtures/orders.csv",
        lambda route: route.fulfill(
            content_type="text/csv",
            body="order,total\n1,49.00\n",
            headers={"Content-Disposition": "attachment; filename=orders.csv"},
        ),
    )
    watched.goto(PATH)
    return watched.visitor()


def hammer(page: Any, selector: str, times: int = 4, force: bool = False) -> None:
    """Separate clicks in one spot, as a frustrated visitor makes them (each has detail 1).

    ``force`` clicks a control Playwright deems disabled instead of waiting for it to be enabled.
    """
    for _ in range(times):
        page.click(selector, force=force)


def sels_until(watched: Watched, visitor: str, kind: str, sentinel: str) -> list[str]:
    """The `sel` of every `kind` event the API accepted, once the sentinel's has arrived too."""

    def sentinel_arrived() -> list[str]:
        sels = [event.get("sel", "") for event in watched.server.events(visitor, kind)]
        return sels if sentinel in sels else []

    sentinel_arrived.__name__ = f"{kind} on {sentinel}"
    return watched.wait(sentinel_arrived)  # type: ignore[no-any-return]


def rage_clicks_then_sentinel(watched: Watched, visitor: str) -> list[str]:
    watched.pause(SETTLE_S)
    hammer(watched.page, "#price")
    return sels_until(watched, visitor, "rage_click", RAGE_SENTINEL)


def dead_clicks_then_sentinel(watched: Watched, visitor: str) -> list[str]:
    watched.pause(SETTLE_S)
    watched.page.click("#save")
    return sels_until(watched, visitor, "dead_click", DEAD_SENTINEL)


def selected_text(page: Any) -> str:
    return page.evaluate("() => getSelection().toString()")  # type: ignore[no-any-return]


# The base cases: without them every "not reported" below could pass on a tracker that reports nothing.


def test_rage_click__plain_unresponsive_div__reported_with_its_count(watched: Watched) -> None:
    visitor = open_page(watched)
    hammer(watched.page, "#price", 5)
    (rage,) = watched.wait_events(visitor, "rage_click")
    assert (rage["count"], rage["sel"]) == (5, RAGE_SENTINEL)


def test_dead_click__plain_button_that_does_nothing__reported(watched: Watched) -> None:
    visitor = open_page(watched)
    watched.page.click("#save")
    (dead,) = watched.wait_events(visitor, "dead_click")
    assert dead["sel"] == DEAD_SENTINEL


def test_rage_and_dead__fast_burst_on_a_clickable_div__reported_though_it_selects_text(watched: Watched) -> None:
    visitor = open_page(watched)
    watched.page.click("#fake-button", click_count=4)  # detail 1, 2, 3, 4, as from a real mouse
    assert "coupon" in selected_text(watched.page)  # the burst selected the label, a side effect only
    (rage,) = watched.wait_events(visitor, "rage_click")
    assert (rage["count"], rage["sel"]) == (4, "div#fake-button")
    (dead,) = watched.wait_events(visitor, "dead_click")
    assert dead["sel"] == "div#fake-button"


def test_rage_click__hammering_an_aria_disabled_button__still_reported(watched: Watched) -> None:
    visitor = open_page(watched)
    hammer(watched.page, "#next", force=True)  # not a dead click (disabled by design), but a visitor stuck on it
    (rage,) = watched.wait_events(visitor, "rage_click")
    assert rage["sel"] == "div#next"


# Rule 1: rage clicks leave out steppers, text selection, text editing and modified clicks.


def test_rage_click__number_field_spin_buttons__not_reported(watched: Watched) -> None:
    visitor = open_page(watched)
    page = watched.page
    box = page.locator("#qty").bounding_box()
    for _ in range(5):
        page.mouse.click(box["x"] + box["width"] - 6, box["y"] + box["height"] / 4)  # the up arrow
    assert page.input_value("#qty") == "6"
    assert rage_clicks_then_sentinel(watched, visitor) == [RAGE_SENTINEL]


@pytest.mark.parametrize(
    ("button", "field", "after"),
    [
        ("#qty-plus", "#qty2", "6"),  # labelled "Increase quantity", beside the number field
        ("#qty-minus", "#qty2", "0"),  # labelled "Decrease quantity" (its text is U+2212)
        ("#bs-plus", "#qty3", "6"),  # text "+", in a wrapper beside the field (Bootstrap 4's input-group-append)
    ],
    ids=["increase", "decrease", "plus_in_input_group"],
)
def test_rage_and_dead__stepper_buttons_beside_a_number_field__not_reported(
    watched: Watched, button: str, field: str, after: str
) -> None:
    visitor = open_page(watched)
    page = watched.page
    hammer(page, button, 5)
    assert page.input_value(field) == after  # the value changed; the DOM did not
    assert rage_clicks_then_sentinel(watched, visitor) == [RAGE_SENTINEL]
    assert dead_clicks_then_sentinel(watched, visitor) == [DEAD_SENTINEL]


def test_rage_click__buttons_inside_an_aria_spinbutton__not_reported(watched: Watched) -> None:
    visitor = open_page(watched)
    hammer(watched.page, "#guests-up", 5)
    assert watched.page.get_attribute("#guests", "aria-valuenow") == "7"
    assert rage_clicks_then_sentinel(watched, visitor) == [RAGE_SENTINEL]


def test_rage_click__double_and_triple_clicks_selecting_text__not_reported(watched: Watched) -> None:
    visitor = open_page(watched)
    page = watched.page
    page.click("#story", click_count=3)  # the paragraph
    assert selected_text(page).startswith("Our kettles")
    watched.pause(SETTLE_S)
    page.dblclick("#story", position={"x": 12, "y": 10})  # a word, then the same word again: 4 clicks
    page.dblclick("#story", position={"x": 12, "y": 10})
    assert selected_text(page).strip() == "Our"
    assert rage_clicks_then_sentinel(watched, visitor) == [RAGE_SENTINEL]


@pytest.mark.parametrize("surface", ["#coupon", "#notes", "#editor"], ids=["input", "textarea", "contenteditable"])
def test_rage_click__clicking_about_in_a_text_field__not_reported(watched: Watched, surface: str) -> None:
    visitor = open_page(watched)
    page = watched.page
    hammer(page, surface, 3)
    page.click(surface, click_count=3)  # and a triple click to select a line
    assert rage_clicks_then_sentinel(watched, visitor) == [RAGE_SENTINEL]


@pytest.mark.parametrize("modifier", ["Control", "Meta", "Shift", "Alt"])
def test_rage_and_dead__clicks_with_a_modifier_key__not_reported(watched: Watched, modifier: str) -> None:
    visitor = open_page(watched)
    for _ in range(4):
        watched.page.click("#fake-button", modifiers=[modifier])  # a div that looks clickable and does nothing
    assert rage_clicks_then_sentinel(watched, visitor) == [RAGE_SENTINEL]
    assert dead_clicks_then_sentinel(watched, visitor) == [DEAD_SENTINEL]


# Rule 2: dead clicks leave out downloads, other tabs and windows, and controls inert by design.


@pytest.mark.parametrize(
    ("link", "button"),
    [
        ("#export", "left"),  # href="#" download: the page builds the file, the link never changes
        ("#csv", "left"),  # a real download link
        ("#terms", "left"),  # target=_blank: the new tab reacts, this one need not
        ("#preview", "left"),  # href="#" target=_blank
        ("#top-link", "middle"),  # a middle click opens a tab (and is no `click` event at all)
    ],
    ids=["download_built_by_script", "download", "new_tab", "new_tab_hash_link", "middle_click"],
)
def test_dead_click__download_or_new_tab__not_reported(watched: Watched, link: str, button: str) -> None:
    visitor = open_page(watched)
    watched.page.click(link, button=button)
    assert dead_clicks_then_sentinel(watched, visitor) == [DEAD_SENTINEL]


@pytest.mark.parametrize("control", ["#pay", "#next"], ids=["disabled", "aria_disabled"])
def test_dead_click__disabled_controls__not_reported(watched: Watched, control: str) -> None:
    visitor = open_page(watched)
    watched.page.click(control, force=True)  # force: Playwright would wait for #pay to be enabled
    assert dead_clicks_then_sentinel(watched, visitor) == [DEAD_SENTINEL]


def test_rage_and_dead__marked_data_tactful_ignore__not_reported_but_still_clicks(watched: Watched) -> None:
    visitor = open_page(watched)
    hammer(watched.page, "#copy-code")
    assert watched.page.evaluate("() => window.copied") == 4
    assert rage_clicks_then_sentinel(watched, visitor) == [RAGE_SENTINEL]
    assert dead_clicks_then_sentinel(watched, visitor) == [DEAD_SENTINEL]
    clicks = [event["sel"] for event in watched.server.events(visitor, "click")]
    assert clicks.count("button#copy-code") == 4  # an ordinary click is still an ordinary click


# Rule 3: the form errors of one submit attempt share one time.


@pytest.mark.parametrize("novalidate", [True, False], ids=["checkValidity_in_submit_handler", "browser_validation"])
def test_form_errors__ten_empty_required_fields_one_press__one_per_field_one_stamp(
    watched: Watched, novalidate: bool
) -> None:
    visitor = open_page(watched)
    page = watched.page
    page.evaluate("(on) => { document.getElementById('checkout').noValidate = on; }", novalidate)
    page.click("#place-order")
    first = watched.wait_events(visitor, "form_error", 10)
    watched.pause(0.5)
    assert len(watched.server.events(visitor, "form_error")) == 10  # `invalid` and aria-invalid: once a field
    assert {error["field"] for error in first} == REQUIRED
    assert {error["form"] for error in first} == {"checkout"}

    page.fill("#firstName", "Ada")
    watched.pause(1.1)  # one error per field per second
    page.click("#place-order")
    second = watched.wait_events(visitor, "form_error", 19)[10:]
    assert {error["field"] for error in second} == REQUIRED - {"firstName"}

    sent = [event for event in watched.sent() if event["t"] == "form_error"]
    stamps = sorted({event["ts"] for event in sent})
    assert len(stamps) == 2, stamps  # one per press, as the browser sent them
    assert [event["ts"] for event in sent] == [stamps[0]] * 10 + [stamps[1]] * 9
    assert stamps[0] // 1000 != stamps[1] // 1000  # the server's grouping sees two attempts
    for attempt in (first, second):
        assert len({error["ts"] for error in attempt}) == 1  # and so does what the API stored


def test_fixture_page__validated_checkout__no_page_or_console_errors(watched: Watched) -> None:
    """And a screenshot of the page in var/screenshots, for a person to look at."""
    open_page(watched)
    watched.page.click("#place-order")
    watched.page.wait_for_selector("#checkout.was-validated")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watched.page.screenshot(path=str(SCREENSHOTS / "struggle-signals.png"), full_page=True)
    assert watched.page_errors == [] and watched.console_errors == []
