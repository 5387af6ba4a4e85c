"""From a visitor's stored state to what the model and the policy read. Pure.

``extract`` gives the flat numeric feature dict the scorer learns from;
``describe`` gives the non-numeric facts the trigger policy targets on (path,
device, referrer, UTM, custom events, invitation history). Both read the short
field names written by ``tracker.events`` and nothing else does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from tracker.days import day_of
from tracker.events import (
    ANCHOR_MS,
    BITMAP_BITS,
    CART_ADD,
    CART_REMOVE,
    RECENCY_HALF_LIFE_MS,
    RECENCY_SIGNALS,
    RECENCY_TAU_MS,
    anchor_index,
)

FEATURES: tuple[str, ...] = (
    "time_on_site_s",  # first to latest event of the session
    "time_on_page_s",  # since the newest page view, to now
    "pages_viewed",
    "distinct_paths",  # estimated by linear counting; exact for small numbers
    "returning_visitor",  # 1 when this visitor had an earlier session
    "sessions",
    "clicks",
    "rage_clicks",
    "dead_clicks",
    "form_errors",
    "repeated_field_errors",  # errors beyond the first on the same field
    "failed_submits",  # submit attempts with errors: one press with ten empty fields is one
    "repeated_submits",  # failed attempts beyond the first
    "u_turns",  # back to the previous path within 7 s
    "scroll_reversals",
    "max_scroll_depth",
    "longest_idle_s",
    "searches",
    "zero_result_searches",
    "js_errors",
    "exit_intents",
    "custom_events",
    "conversions",
    "heartbeats",
    "seconds_since_u_turn",  # large when none
    "recent_rage_clicks",  # recency-weighted: half-life 2 minutes
    "recent_dead_clicks",
    "recent_form_errors",
    "recent_js_errors",
    "recent_zero_result_searches",
    "unresolved_search",  # 1 when the newest search found nothing
    "struggle_kinds",  # how many kinds of struggle signal the visitor shows within the last minute (BREADTH)
    "recent_struggle",  # the recency-weighted struggle counts added up
    "cart_items",  # added_to_cart minus removed_from_cart custom events
    "cart_value",  # the sum of their values
)

STRUGGLE_SIGNALS: tuple[str, ...] = (
    "rage_clicks",
    "dead_clicks",
    "form_errors",
    "repeated_field_errors",
    "repeated_submits",
    "u_turns",
    "zero_result_searches",
    "js_errors",
    "exit_intents",
    "scroll_reversals",
)

BREADTH: dict[str, str] = {
    "rage_clicks": "recent_rage_clicks",
    "dead_clicks": "recent_dead_clicks",
    "failed_submits": "recent_form_errors",
    "u_turns": "seconds_since_u_turn",
    "zero_result_searches": "recent_zero_result_searches",
    "js_errors": "recent_js_errors",
}
"""Kinds of struggle counted by ``struggle_kinds``, each with the feature that says how recent it is: a
visitor who is really stuck tries several things, one after the other."""
BREADTH_WINDOW_S = 60.0
"""A kind counts towards ``struggle_kinds`` while it happened within about this long: a stray dead click
on one page and a script error three pages later are two accidents, not one struggle."""
_RECENT_ENOUGH = 2 ** (-BREADTH_WINDOW_S * 1000 / RECENCY_HALF_LIFE_MS)

_COUNTS = {
    "pages_viewed": "pv",
    "clicks": "ck",
    "rage_clicks": "rc",
    "dead_clicks": "dc",
    "form_errors": "fe",
    "u_turns": "ut",
    "scroll_reversals": "sr",
    "searches": "se",
    "zero_result_searches": "zs",
    "js_errors": "je",
    "exit_intents": "ex",
    "custom_events": "cu",
    "conversions": "cv",
    "heartbeats": "hb",
}
_COUNT_ITEMS = tuple(_COUNTS.items())
_RECENT = {
    "rc": "recent_rage_clicks",
    "dc": "recent_dead_clicks",
    "fe": "recent_form_errors",
    "je": "recent_js_errors",
    "zs": "recent_zero_result_searches",
}
assert set(_RECENT) == set(RECENCY_SIGNALS.values())

NO_U_TURN_S = 86_400.0
_CART_KEYS = tuple((f"c.{name}", 1.0) for name in sorted(CART_ADD)) + tuple(
    (f"c.{name}", -1.0) for name in sorted(CART_REMOVE)
)


def _num(state: Mapping[str, str], key: str) -> float:
    text = state.get(key)
    return float(text) if text else 0.0


def _stamped(state: Mapping[str, str], key: str) -> tuple[int, str] | None:
    text = state.get(key)
    if not text:
        return None
    ts, _, value = text.partition("|")
    return int(ts), value


_BITMAP_MASK = (1 << BITMAP_BITS) - 1


def linear_count(bitmaps: list[int], bins: int) -> float:
    """Distinct values estimated from a bitmap of ``bins`` bits (Whang et al., linear counting)."""
    empty = bins - sum((b & _BITMAP_MASK).bit_count() for b in bitmaps)
    if empty <= 0:
        return float(bins * math.log(bins))
    return float(round(-bins * math.log(empty / bins)))


def _anchor_decays(now_ms: int) -> tuple[tuple[str, float], ...]:
    """For the previous and the current anchor: its fields' suffix and its decay to ``now_ms``."""
    now_anchor = anchor_index(now_ms)
    return tuple(
        (f":{anchor}", math.exp((anchor * ANCHOR_MS - now_ms) / RECENCY_TAU_MS))
        for anchor in (now_anchor - 1, now_anchor)
    )


def recency_weighted(
    session: Mapping[str, str], code: str, now_ms: int, decays: tuple[tuple[str, float], ...] | None = None
) -> float:
    """Sum over events of 2^(-age / half-life), from the per-anchor sums ``w<code>:<anchor>``.

    ``decays``: ``_anchor_decays(now_ms)``, when several codes are read at the same time."""
    total = 0.0
    for suffix, decay in decays or _anchor_decays(now_ms):
        stored = session.get(f"w{code}{suffix}")
        if stored:
            total += float(stored) * decay
    return round(total, 6)


def extract(session: Mapping[str, str], visitor: Mapping[str, str], now_ms: int) -> dict[str, float]:
    """The model's view of a visitor right now."""
    started = _num(session, "st")
    last_seen = _num(session, "ls")
    newest_view = _stamped(session, "p1")
    sessions = _num(visitor, "ns")
    form_errors = _num(session, "fe")
    distinct_fields = linear_count([int(_num(session, "ff"))], BITMAP_BITS) if form_errors else 0.0
    get = session.get
    features: dict[str, float] = {name: float(get(code) or 0.0) for name, code in _COUNT_ITEMS}
    u_turn_at = _num(session, "ul")
    failed_submits = linear_count([int(_num(session, "fa"))], BITMAP_BITS) if form_errors else 0.0
    cart_items = 0.0
    for key, sign in _CART_KEYS:
        count = session.get(key)
        if count:
            cart_items += sign * float(count)
    last_search = get("sl")
    features.update(
        unresolved_search=1.0 if last_search is not None and last_search.endswith("|0") else 0.0,
        failed_submits=failed_submits,
        repeated_submits=max(0.0, failed_submits - 1.0),
        cart_items=max(0.0, cart_items),
        cart_value=max(0.0, _num(session, "ka")),
        time_on_site_s=max(0.0, (max(last_seen, now_ms) - started) / 1000) if started else 0.0,
        time_on_page_s=max(0.0, (now_ms - newest_view[0]) / 1000) if newest_view else 0.0,
        distinct_paths=linear_count([int(_num(session, "d1")), int(_num(session, "d2"))], 2 * BITMAP_BITS),
        returning_visitor=1.0 if sessions > 1 else 0.0,
        sessions=sessions,
        repeated_field_errors=max(0.0, form_errors - max(1.0, distinct_fields)) if form_errors else 0.0,
        max_scroll_depth=_num(session, "sd"),
        longest_idle_s=_num(session, "il") / 1000,
        seconds_since_u_turn=(now_ms - u_turn_at) / 1000 if u_turn_at else NO_U_TURN_S,
    )
    (previous_decay, current_decay), keys = _anchor_decays(now_ms), _recency_keys(anchor_index(now_ms))
    recent = 0.0
    for name, previous_key, current_key in keys:
        total = 0.0
        stored = session.get(previous_key)
        if stored:
            total += float(stored) * previous_decay[1]
        stored = session.get(current_key)
        if stored:
            total += float(stored) * current_decay[1]
        recent += total
        features[name] = round(total, 6)  # what recency_weighted gives, without its per-call key building
    if last_search is not None and not last_search.endswith("|0"):
        # The newest search found something: the empty ones before it were a typo or a query put right,
        # as a form error is put right by the next field. They stop counting as struggle (and as a kind
        # of it) until the visitor searches in vain again, when every empty search counts once more.
        recent -= features["recent_zero_result_searches"]
        features["zero_result_searches"] = features["recent_zero_result_searches"] = 0.0
    if features["recent_dead_clicks"] + features["recent_rage_clicks"] < _RECENT_ENOUGH:
        # A script error is the page's trouble until the visitor runs into it: a click that does nothing, or
        # clicks in anger, within the minute. Alone it may be a third-party tag that throws on every page and
        # that nobody notices; counted then, it made every visitor on such a site look twice as stuck.
        recent -= features["recent_js_errors"]
        features["js_errors"] = features["recent_js_errors"] = 0.0
    features["recent_struggle"] = round(recent, 6)
    kinds = 0.0
    for name, recency in BREADTH.items():
        if features[name] > 0:
            recent_enough = (
                features[recency] <= BREADTH_WINDOW_S
                if recency == "seconds_since_u_turn"
                else features[recency] >= _RECENT_ENOUGH
            )
            if recent_enough:
                kinds += 1.0
    features["struggle_kinds"] = kinds
    return features


@functools.lru_cache(maxsize=8)
def _recency_keys(now_anchor: int) -> tuple[tuple[str, str, str], ...]:
    """Per recency code: its feature name and its fields for the previous and the current anchor."""
    return tuple((name, f"w{code}:{now_anchor - 1}", f"w{code}:{now_anchor}") for code, name in _RECENT.items())


@dataclass(slots=True)  # not frozen: built on every collect (see tracker.ingest)
class VisitorFacts:
    """What targeting and the respect rules need besides the numeric features."""

    session: str
    path: str | None
    device: str | None
    referrer: str | None
    utm: dict[str, str]
    custom_events: dict[str, int]
    returning: bool
    session_started_ms: int | None
    last_seen_ms: int | None
    invites_shown_session: int
    invites_accepted_session: int
    invites_dismissed_session: int
    invites_shown_today: int
    last_invite_ms: int | None
    last_dismissed_ms: int | None
    last_accepted_ms: int | None
    opted_out: bool
    exit_intent_ms: int | None
    last_visible_ms: int | None
    failing_form: str | None = None
    """The form of the newest form error in this session."""
    extra: dict[str, str] = field(default_factory=dict)
    evidence_since_ms: int | None = None
    """When the score last rose to the site's threshold in this session (remembered by the engine)."""
    in_chat: bool = False


def _opt_int(state: Mapping[str, str], key: str) -> int | None:
    text = state.get(key)
    return int(float(text)) if text else None


def describe(session: Mapping[str, str], visitor: Mapping[str, str], now_ms: int) -> VisitorFacts:
    path, device, referrer = (_stamped(session, key) for key in ("cp", "dv", "rf"))
    today = day_of(now_ms)
    utm = {
        name: stamped[1]
        for name, key in (("source", "us"), ("medium", "um"), ("campaign", "uc"))
        if (stamped := _stamped(session, key))
    }
    return VisitorFacts(
        session=session.get("sid", ""),
        path=path[1] if path else None,
        device=device[1] if device else None,
        referrer=referrer[1] if referrer else None,
        utm=utm,
        custom_events={key[2:]: int(value) for key, value in session.items() if key.startswith("c.")},
        returning=_num(visitor, "ns") > 1,
        session_started_ms=_opt_int(session, "st"),
        last_seen_ms=_opt_int(session, "ls"),
        # Offered (decided) counts too: the cap holds before the browser reports the invitation shown.
        invites_shown_session=int(max(_num(session, "is"), _num(session, "io"))),
        invites_accepted_session=int(_num(session, "ia")),
        invites_dismissed_session=int(_num(session, "id")),
        invites_shown_today=int(max(_num(visitor, f"i{today}"), _num(visitor, f"o{today}"))),
        last_invite_ms=_opt_int(visitor, "li"),
        last_dismissed_ms=_opt_int(visitor, "ld"),
        last_accepted_ms=_opt_int(visitor, "la"),
        opted_out=bool(visitor.get("oo")),
        exit_intent_ms=_opt_int(session, "xl"),
        last_visible_ms=_opt_int(session, "hv"),
        evidence_since_ms=int(evidence[1]) if (evidence := _stamped(session, "es")) and evidence[1] else None,
        in_chat=(chat[1] == "1") if (chat := _stamped(session, "ch")) else False,
        failing_form=form[1] if (form := _stamped(session, "lf")) else None,
    )
