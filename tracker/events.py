"""From one validated event to the merge ops that fold it into visitor state. Pure.

Short field names keep a visitor's state small in Redis (listpack-encoded hashes);
``tracker.features`` is the one place that reads them back under long names.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tracker import protocol as p
from tracker.days import day_of
from tracker.identity import forget_ops, identify_ops
from tracker.merge import Op, State, apply_all

RECENCY_HALF_LIFE_MS = 120_000
"""Struggle two minutes ago weighs half as much as struggle now."""
RECENCY_TAU_MS = RECENCY_HALF_LIFE_MS / math.log(2)
ANCHOR_MS = 3600 * 1000
"""Recency sums are stored relative to an hourly anchor: the stored numbers stay short (< e^21)."""
BITMAP_BITS = 30
"""Bits per bitmap field (Redis Lua bit ops are signed 32-bit)."""
MAX_STORED_TEXT = 200

RECENCY_SIGNALS = {"rage_click": "rc", "dead_click": "dc", "form_error": "fe", "js_error": "je", "search": "zs"}


def anchor_index(ts: int) -> int:
    return ts // ANCHOR_MS


def recency_weight(ts: int) -> float:
    """exp((ts - anchor) / tau): the stored unit for a recency-weighted count."""
    return math.exp((ts - anchor_index(ts) * ANCHOR_MS) / RECENCY_TAU_MS)


def recency_field(code: str, ts: int) -> str:
    return f"w{code}:{anchor_index(ts)}"


def _hash(text: str) -> int:
    return zlib.crc32(text.encode())


def bitmap_bit(text: str, fields: tuple[str, ...]) -> tuple[str, int]:
    """Which field and bit a value sets in a linear-counting bitmap of ``len(fields) * 30`` bins."""
    index = _hash(text) % (BITMAP_BITS * len(fields))
    return fields[index // BITMAP_BITS], 1 << (index % BITMAP_BITS)


def device_class(viewport_width: int) -> str:
    if viewport_width < 768:
        return "mobile"
    if viewport_width < 1024:
        return "tablet"
    return "desktop"


@functools.lru_cache(maxsize=4096)
def split_path(path: str) -> tuple[str, Mapping[str, str]]:
    """Path without query or fragment, and the UTM parameters it carried.

    Cached (hence the read-only mapping): a site's visitors view the same few hundred URLs, and
    parsing one cost more than everything else a page view does."""
    parts = urlsplit(path)
    utm = {key: values[0] for key, values in parse_qs(parts.query).items() if key.startswith("utm_") and values}
    return parts.path or "/", MappingProxyType(utm)


def _stamped(ts: int, text: str) -> str:
    return f"{ts}|{text[:MAX_STORED_TEXT]}"


def _recent(code: str, ts: int) -> Op:
    return Op("s", recency_field(code, ts), "+f", repr(recency_weight(ts)))


SPAN_OPS = (Op("s", "st", "<", ""), Op("s", "ls", ">", ""), Op("v", "lv", ">", ""), Op("v", "fs", "<", ""))
"""Session and visitor time span, applied once per batch rather than per event: the store fills each
``<`` with the earliest and each ``>`` with the latest time among the batch's fresh events."""


def fill_span(ops: tuple[Op, ...], first_ms: int, last_ms: int) -> list[Op]:
    return [op._replace(value=str(first_ms if op.kind == "<" else last_ms)) for op in ops]


def _page_view(event: p.PageView, ts: int) -> tuple[Op, ...]:
    path, utm = split_path(event.path)
    field, bit = bitmap_bit(path, ("d1", "d2"))
    ops = [
        _PAGE_COUNT,
        Op("s", "pv", "pv", f"{ts}|{_hash(path):x}"),
        Op("s", "cp", "=", _stamped(ts, path)),
        Op("s", field, "|", str(bit)),
    ]
    if event.ref:
        ops.append(Op("s", "rf", "f", _stamped(ts, event.ref)))
    for key, code in (("utm_source", "us"), ("utm_medium", "um"), ("utm_campaign", "uc")):
        if key in utm:
            ops.append(Op("s", code, "f", _stamped(ts, utm[key])))
    if event.vw is not None:
        ops.append(Op("s", "dv", "=", _stamped(ts, device_class(event.vw))))
    return tuple(ops)


def _scroll(event: p.Scroll, ts: int) -> tuple[Op, ...]:
    return Op("s", "sr", "+", str(event.reversals)), Op("s", "sd", ">", repr(event.depth))


def form_error_ops(event: p.FormError, ts: int, attempt_size: int = 1) -> tuple[Op, ...]:
    """A field that failed: counted per field (``ff``) and per submit attempt (``fa``).

    One press of "submit" on an empty form fires one error per required field, all at the same moment
    (the tracker stamps a submit's errors alike). That is one failed attempt, not ten: the attempt
    bitmap counts distinct (form, second) pairs, and the recency sum gives each attempt one unit,
    shared among its ``attempt_size`` fields."""
    form = event.form or ""
    field, bit = bitmap_bit(f"{form}/{event.field}", ("ff",))
    attempt_field, attempt_bit = bitmap_bit(f"{form}/{ts // 1000}", ("fa",))
    recent = Op("s", recency_field("fe", ts), "+f", repr(recency_weight(ts) / max(1, attempt_size)))
    return (
        _FORM_ERROR_COUNT,
        Op("s", field, "|", str(bit)),
        Op("s", attempt_field, "|", str(attempt_bit)),
        recent,
        Op("s", "lf", "=", _stamped(ts, form or "form")),
    )


def _form_error(event: p.FormError, ts: int) -> tuple[Op, ...]:
    return form_error_ops(event, ts)


def attempt_sizes(events: Iterable[p.Event]) -> dict[tuple[str, int], int]:
    """How many form errors each (form, browser time) of a batch has: one submit's errors share a time."""
    sizes: dict[tuple[str, int], int] = {}
    for event in events:
        if type(event) is p.FormError:
            key = (event.form or "", event.ts)
            sizes[key] = sizes.get(key, 0) + 1
    return sizes


def batch_ops(event: p.Event, ts: int, sizes: Mapping[tuple[str, int], int]) -> tuple[Op, ...]:
    """``ops_for``, with a form error's share of its submit attempt (``attempt_sizes`` of its batch)."""
    if sizes and type(event) is p.FormError:
        return form_error_ops(event, ts, sizes.get((event.form or "", event.ts), 1))
    return _OPS[type(event)](event, ts)


def _search(event: p.Search, ts: int) -> tuple[Op, ...]:
    """Searches are counted, empty ones apart; and the newest search's outcome is kept (``sl``): a visitor
    whose latest search found something has put their mistyped one right."""
    if event.results == 0:
        return _SEARCH_COUNT, _ZERO_SEARCH_COUNT, _recent("zs", ts), Op("s", "sl", "=", f"{ts}|0")
    return _SEARCH_COUNT, Op("s", "sl", "=", f"{ts}|1")


def _heartbeat(event: p.Heartbeat, ts: int) -> tuple[Op, ...]:
    return (_HEARTBEAT_COUNT, Op("s", "hv", ">", str(ts))) if event.visible else (_HEARTBEAT_COUNT,)


CART_ADD = frozenset({"added_to_cart", "add_to_cart"})
CART_REMOVE = frozenset({"removed_from_cart", "remove_from_cart"})
"""Custom events that change the cart (docs/protocol.md): their values sum into the cart's value."""


def _custom(event: p.Custom, ts: int) -> tuple[Op, ...]:
    ops = (_CUSTOM_COUNT, Op("s", f"c.{event.name}", "+k", "1"))
    if event.name == "tactful.opt_out":
        # The refusal forgets who the visitor is as of now, as a reset would: an identify sent just
        # before it (in the same beacon, or delivered late) is older and does not come back.
        return (*ops, Op("v", "oo", ">", str(ts)), *forget_ops(ts))
    if event.value is not None and (event.name in CART_ADD or event.name in CART_REMOVE):
        value = event.value if event.name in CART_ADD else -event.value
        return (*ops, Op("s", "ka", "+f", repr(value)))
    return ops


def _conversion(event: p.Conversion, ts: int) -> tuple[Op, ...]:
    ops = _CONVERSION_COUNTS
    return ops if event.value is None else (*ops, Op("s", "cw", "+f", repr(event.value)))


_PAGE_COUNT = Op("s", "pv", "+", "1")
_FORM_ERROR_COUNT = Op("s", "fe", "+", "1")
_SEARCH_COUNT, _ZERO_SEARCH_COUNT = Op("s", "se", "+", "1"), Op("s", "zs", "+", "1")
_HEARTBEAT_COUNT = Op("s", "hb", "+", "1")
_CUSTOM_COUNT = Op("s", "cu", "+", "1")
_CONVERSION_COUNTS = (Op("s", "cv", "+", "1"), Op("v", "vc", "+", "1"))
_CLICK = (Op("s", "ck", "+", "1"),)
_RAGE_CLICK, _DEAD_CLICK, _JS_ERROR = Op("s", "rc", "+", "1"), Op("s", "dc", "+", "1"), Op("s", "je", "+", "1")
_EXIT, _SHOWN = Op("s", "ex", "+", "1"), Op("s", "is", "+", "1")
_ACCEPTED, _DISMISSED = Op("s", "ia", "+", "1"), Op("s", "id", "+", "1")

_OPS: Mapping[type, Callable[[Any, int], tuple[Op, ...]]] = {
    p.PageView: _page_view,
    p.Click: lambda event, ts: _CLICK,
    p.RageClick: lambda event, ts: (_RAGE_CLICK, _recent("rc", ts)),
    p.DeadClick: lambda event, ts: (_DEAD_CLICK, _recent("dc", ts)),
    p.Scroll: _scroll,
    p.FormError: _form_error,
    p.Search: _search,
    p.JsError: lambda event, ts: (_JS_ERROR, _recent("je", ts)),
    p.Idle: lambda event, ts: (Op("s", "il", ">", str(event.ms)),),
    p.ExitIntent: lambda event, ts: (_EXIT, Op("s", "xl", ">", str(ts))),
    p.Heartbeat: _heartbeat,
    p.Custom: _custom,
    p.InviteShown: lambda event, ts: (_SHOWN, Op("v", "li", ">", str(ts)), Op("v", f"i{day_of(ts)}", "+k", "1")),
    p.InviteAccepted: lambda event, ts: (_ACCEPTED, Op("v", "la", ">", str(ts))),
    p.InviteDismissed: lambda event, ts: (_DISMISSED, Op("v", "ld", ">", str(ts))),
    p.Conversion: _conversion,
    p.Identify: identify_ops,
}
"""Each event type's ops, looked up by type: one dict lookup instead of a chain of class patterns, and
ops that never change (most counts) built once."""
assert set(_OPS) == set(p.Event.__args__), "every event type folds into state"


def ops_for(event: p.Event, ts: int) -> tuple[Op, ...]:
    """Ops for one event; ``ts`` is the event time already corrected for clock skew."""
    return _OPS[type(event)](event, ts)


# -- ops that come from the engine rather than from the browser ------------------------------


def invite_offered_ops(now_ms: int) -> list[Op]:
    """An invitation decided now: caps and gaps hold before the browser reports it shown."""
    return [Op("s", "io", "+", "1"), Op("v", f"o{day_of(now_ms)}", "+k", "1"), Op("v", "li", ">", str(now_ms))]


def evidence_ops(now_ms: int, since_ms: int | None) -> list[Op]:
    """Remember when the score rose to the threshold (empty: it is below)."""
    return [Op("s", "es", "=", f"{now_ms}|{'' if since_ms is None else since_ms}")]


def chat_ops(now_ms: int, open_: bool) -> list[Op]:
    """A chat opened or closed for the visitor's current session: no invitation while one is open."""
    return [Op("s", "ch", "=", f"{now_ms}|{1 if open_ else 0}")]


def fold(session: State, visitor: State, timed_events: Iterable[tuple[p.Event, int]]) -> None:
    """Fold events (each with its corrected time) into records, span included: what a store does for
    fresh events, without dedup or logging. For replays and simulations."""
    times = []
    timed = list(timed_events)
    sizes = attempt_sizes(event for event, _ in timed)
    for event, ts in timed:
        apply_all(session, visitor, batch_ops(event, ts, sizes))
        times.append(ts)
    if times:
        apply_all(session, visitor, fill_span(SPAN_OPS, min(times), max(times)))
