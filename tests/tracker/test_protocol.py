"""The wire protocol's names and their copies elsewhere agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker.protocol import EMAIL_PATTERN, PERSON_NAME_PATTERN, SITE_KEY, SITE_KEY_PATTERN
from triggers import SiteConfig

BOOT_JS = Path(__file__).resolve().parents[2] / "widget_js" / "src" / "boot.js"
IDENTIFY_JS = BOOT_JS.with_name("identify.js")


def test_site_key__the_tracker_checks_the_same_pattern_as_the_server() -> None:
    match = re.search(r"var SITE_RE = /(.+)/;", BOOT_JS.read_text())
    assert match is not None, "boot.js no longer defines SITE_RE"
    assert match.group(1) == SITE_KEY_PATTERN


@pytest.mark.parametrize(("name", "pattern"), [("NAME_OK", PERSON_NAME_PATTERN), ("EMAIL_OK", EMAIL_PATTERN)])
def test_identify__the_tracker_checks_the_same_patterns_as_the_server(name: str, pattern: str) -> None:
    match = re.search(rf"var {name} = /(.+)/;", IDENTIFY_JS.read_text())
    assert match is not None, f"identify.js no longer defines {name}"
    assert match.group(1) == pattern


@pytest.mark.parametrize("site", ["shop", "a", "my-shop_2", "x" * 64])
def test_site_key__accepted_everywhere(site: str) -> None:
    assert re.fullmatch(SITE_KEY, site)
    assert SiteConfig(site=site).site == site


@pytest.mark.parametrize("site", ["", "x" * 65, "my shop", "shop/1", "shöp"])
def test_site_key__rejected_everywhere(site: str) -> None:
    assert not re.fullmatch(SITE_KEY, site)
    with pytest.raises(ValueError, match="site"):
        SiteConfig(site=site)
