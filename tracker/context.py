"""Where and who a visitor is, as bounded one-hot features the model can learn a site's own pattern from.

Behaviour counts say *how much* a visitor struggles; they cannot say that on this site the strugglers of
the sign-in page want the reset link rather than a chat, or that mobile visitors with a full cart are the
ones worth an agent's time. Context can. Each feature is ``name=value`` with value 1.0, and every value
comes from a small, closed set or is cut to a bounded one:

| feature | values |
|---|---|
| ``page=`` | the site's named page group, else the path's template (two segments, ids as ``:id``) |
| ``form=`` | the form of the newest form error (the site's own form names, cut to 32 characters) |
| ``device=`` | mobile, tablet, desktop, unknown |
| ``visitor=`` | new, returning |
| ``source=`` | direct, search, social, campaign, referral |
| ``hour=`` | night (0-6), morning (6-12), afternoon (12-18), evening (18-24), in the site's time zone |

The cart's items and value are numeric features of ``tracker.features``. The model caps how many distinct
features it keeps (``scoring.model.LogisticParams.max_features``), so even a site with thousands of page
templates keeps a bounded model. The prior reads none of these: its meaning does not change.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from tracker.features import VisitorFacts

CONTEXT_PREFIXES = ("page=", "form=", "device=", "visitor=", "source=", "hour=")
MAX_VALUE = 32

SEARCH_HOSTS = ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia.", "qwant.", "startpage.")
SOCIAL_HOSTS = (
    "facebook.",
    "fb.",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "lnkd.in",
    "reddit.",
    "pinterest.",
    "tiktok.",
    "youtube.",
    "threads.",
    "mastodon.",
)
_ID = re.compile(r"^(\d+|[0-9a-f]{8,}|[0-9a-f-]{32,36}|.*\d.*\d.*\d.*)$", re.IGNORECASE)


@lru_cache(maxsize=4096)
def path_template(path: str) -> str:
    """``/orders/84213/items`` -> ``/orders/:id``: the first two segments, ids (digits, hex, uuids) hidden."""
    segments = [segment for segment in path.split("?", 1)[0].split("/") if segment][:2]
    return "/" + "/".join(":id" if _ID.match(segment) else segment[:MAX_VALUE] for segment in segments)


def _referrer_host(referrer: str | None, own_hosts: frozenset[str]) -> str | None:
    host = (urlsplit(referrer or "").hostname or "").lower().removeprefix("www.")
    return None if not host or host in own_hosts else host


def external_referrer(referrer: str | None, own_hosts: frozenset[str]) -> str | None:
    """The referrer if it is another site; None when there is none or it is one of the site's own pages
    (a visitor who came straight in and then clicked a link was not referred by that page)."""
    return referrer if _referrer_host(referrer, own_hosts) is not None else None


@lru_cache(maxsize=4096)
def source_class(
    referrer: str | None, utm_medium: str | None, utm_source: str | None, own_hosts: frozenset[str]
) -> str:
    if utm_medium or utm_source:
        return "campaign"
    host = _referrer_host(referrer, own_hosts)
    if host is None:
        return "direct"
    if any(host.startswith(mark) or f".{mark}" in f".{host}" for mark in SEARCH_HOSTS):
        return "search"
    if any(host.startswith(mark) or f".{mark}" in f".{host}" for mark in SOCIAL_HOSTS):
        return "social"
    return "referral"


def hour_class(now_ms: int, zone: ZoneInfo | None) -> str:
    hour = datetime.fromtimestamp(now_ms / 1000, zone or UTC).hour
    return ("night", "morning", "afternoon", "evening")[hour // 6]


def context_features(
    facts: VisitorFacts,
    page_group: str | None,
    now_ms: int,
    zone: ZoneInfo | None = None,
    own_hosts: frozenset[str] = frozenset(),
) -> dict[str, float]:
    """The visitor's context as one-hot features. ``page_group``: the site's group for the current path
    (None: the path's template); ``own_hosts``: the site's own hosts (a referrer from them is direct)."""
    page = page_group or (path_template(facts.path) if facts.path else "unknown")
    features = {
        f"page={page[:MAX_VALUE]}": 1.0,
        f"device={facts.device or 'unknown'}": 1.0,
        f"visitor={'returning' if facts.returning else 'new'}": 1.0,
        f"source={source_class(facts.referrer, facts.utm.get('medium'), facts.utm.get('source'), own_hosts)}": 1.0,
        f"hour={hour_class(now_ms, zone)}": 1.0,
    }
    if facts.failing_form:
        features[f"form={facts.failing_form[:MAX_VALUE]}"] = 1.0
    return features
