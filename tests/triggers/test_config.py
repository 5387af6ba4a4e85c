"""The site config document: safe defaults, loud errors that name the field, presets that validate."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from triggers import SiteConfig, default_config, demo_config
from triggers.fallback import BotMenu, MenuItem
from triggers.hours import BusinessHours
from triggers.targeting import path_matches


def test_site_config__minimal_document__conservative_defaults() -> None:
    config = SiteConfig(site="demo", allowed_origins=["https://shop.example"])
    assert config.timing.min_dwell_s == 10
    assert config.respect.max_per_session == 1
    assert config.respect.dismiss_cooldown_s == 86_400
    assert config.capacity.max_chats_per_agent == 3 and config.capacity.max_chats_per_new_agent == 1
    assert config.experiment.holdout == 0.10
    assert config.fallback.when_no_capacity == "suppress" and config.fallback.when_closed == "suppress"
    assert config.allows_origin("https://shop.example/") and not config.allows_origin("https://evil.example")
    assert config.allows_origin(None)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"timing": {"min_dwel_s": 5}}, "timing.min_dwel_s"),
        ({"timing": {"score_threshold": 1.5}}, "timing.score_threshold"),
        ({"timing": {"sustain_s": 2, "burst": {"sustain_s": 5}}}, "timing"),
        ({"timing": {"burst": {"features_at_least": {"rage": 1}}}}, "timing.burst.features_at_least"),
        ({"hours": {"timezone": "Mars/Olympus"}}, "hours.timezone"),
        ({"hours": {"weekly": {"mon": ["17:00-09:00"]}}}, "hours.weekly.mon.0"),
        ({"targeting": {"include_paths": ["products/*"]}}, "targeting.include_paths.0"),
        ({"targeting": {"audience": {"any": []}}}, "targeting.audience"),
        ({"experiment": {"holdout": 0.9}}, "experiment.holdout"),
        ({"fallback": {"when_closed": "email"}}, "fallback.when_closed"),
        ({"messages": {"default": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}}, "messages"),
    ],
)
def test_site_config__bad_value__error_names_the_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SiteConfig.model_validate({"site": "demo", **document})
    locations = {".".join(str(part) for part in error["loc"]) for error in raised.value.errors()}
    assert field in locations


def test_site_config__json_round_trip__same_config() -> None:
    config = demo_config(["https://shop.example"])
    assert SiteConfig.model_validate(config.model_dump(mode="json")) == config
    assert SiteConfig.model_validate_json(config.model_dump_json()) == config


def test_presets__default_and_demo__valid_for_their_site() -> None:
    assert default_config("acme").site == "acme"
    demo = demo_config(["http://127.0.0.1:8000"])
    assert demo.site == "demo" and demo.allows_origin("http://127.0.0.1:8000")
    for path in ("/demo/", "/demo/product/blue-shoe", "/demo/search", "/demo/cart", "/demo/checkout"):
        assert demo.targeting.path_allowed(path), path
    assert not demo.targeting.path_allowed("/demo/help")


def test_path_glob__single_star_stays_in_segment() -> None:
    assert path_matches("/products/*", "/products/shoe")
    assert not path_matches("/products/*", "/products/shoe/reviews")
    assert path_matches("/products/**", "/products/shoe/reviews")
    assert not path_matches("/", "/cart")


def test_menu__branch_with_answer__rejected() -> None:
    with pytest.raises(ValidationError, match="cannot also answer"):
        MenuItem(label="x", answer="y", children=[MenuItem(label="z", answer="w")])


def test_menu__without_person__handoff_leaves_and_empty_branches_removed() -> None:
    menu = BotMenu(
        items=[MenuItem(label="A", children=[MenuItem(label="p", handoff=True)]), MenuItem(label="B", answer="b")]
    )
    shown = menu.for_visitor(person_available=False)
    assert shown is not None and [item.label for item in shown.items] == ["B"]
    assert menu.for_visitor(person_available=False) is shown  # kept: every collect without capacity asks
    assert menu.for_visitor(person_available=True) is menu

    changed = menu.model_copy(update={"items": [MenuItem(label="C", url="https://example.org/help")]})
    again = changed.for_visitor(person_available=False)
    assert again is not None and [item.label for item in again.items] == ["C"]
    assert BotMenu(items=[MenuItem(label="p", handoff=True)]).for_visitor(person_available=False) is None


def test_hours__summary_groups_consecutive_days() -> None:
    hours = BusinessHours(
        timezone="Europe/Paris",
        weekly={"mon": ["09:00-12:00", "14:00-18:00"], "tue": ["09:00-12:00", "14:00-18:00"], "sat": ["10:00-13:00"]},
    )
    assert hours.summary() == "mon-tue 09:00-12:00, 14:00-18:00; sat 10:00-13:00 (Europe/Paris)"


def test_hours__next_opening__kept_answers_match_a_fresh_search_and_copies_start_afresh() -> None:
    """Collects of a closed site all ask for the next opening: the kept answer must be the searched one."""
    import random

    hours = BusinessHours(
        timezone="America/New_York",
        weekly={"mon": ["09:00-17:00"], "sat": ["10:00-10:30"]},
        closed_dates=[dt.date(2026, 3, 9)],
    )
    start = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp() * 1000)  # across a DST change and a holiday
    asked = [start + minute * 60_000 for minute in range(0, 30 * 24 * 60, 7)]
    asked += random.Random(5).sample(asked, 500)  # and back in time, out of order
    for now_ms in asked:
        assert hours.next_opening(now_ms) == hours._find_next_opening(now_ms), now_ms

    changed = hours.model_copy(update={"weekly": {"tue": ["08:00-09:00"]}})
    assert changed.next_opening(start) == dt.datetime(2026, 3, 3, 8, 0, tzinfo=changed.local(start).tzinfo)
    assert changed.summary() == "tue 08:00-09:00 (America/New_York)"
    assert hours.summary() == "mon 09:00-17:00; sat 10:00-10:30 (America/New_York)"


def test_docs__commented_example__is_a_valid_config() -> None:
    """The example in docs/configuration.md, comments stripped, validates: the docs cannot drift."""
    docs = Path(__file__).parents[2] / "docs" / "configuration.md"
    example = docs.read_text().split("```jsonc\n", 1)[1].split("```", 1)[0]
    document = "\n".join(re.sub(r"(^|\s)//.*$", "", line) for line in example.splitlines())
    config = SiteConfig.model_validate_json(document)
    assert config.version == 12 and config.hours is not None and config.hours.timezone == "Europe/Berlin"
    assert config.targeting.audience.any is not None and len(config.targeting.audience.any) == 5
