"""Building wire batches for tests, in the shape the tracker sends them."""

from __future__ import annotations

from typing import Any

import orjson

from tracker.ingest import PreparedBatch, prepare
from tracker.validation import parse_batch

T0 = 1_764_000_000_000  # a fixed "now" for tests: 2025-11-24T16:00:00Z


def body(
    events: list[dict[str, Any]],
    *,
    site: str = "demo",
    visitor: str = "v_visitor01",
    session: str = "s_session01",
    sent_at: int | None = None,
) -> bytes:
    sent = sent_at if sent_at is not None else max((e["ts"] for e in events), default=T0)
    return orjson.dumps(
        {"v": 1, "site": site, "visitor": visitor, "session": session, "sent_at": sent, "events": events}
    )


def prepared(events: list[dict[str, Any]], *, received_ms: int | None = None, **envelope: Any) -> PreparedBatch:
    """A batch as the store receives it; with ``received_ms`` equal to ``sent_at`` there is no skew."""
    raw = body(events, **envelope)
    batch = parse_batch(raw)
    return prepare(batch, received_ms if received_ms is not None else batch.sent_at)


def page(ts: int, path: str, **extra: Any) -> dict[str, Any]:
    return {"t": "page_view", "ts": ts, "path": path, **extra}


def ev(kind: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {"t": kind, "ts": ts, **fields}


DESIGN_EXAMPLE: dict[str, Any] = {
    "v": 1,
    "site": "demo",
    "visitor": "v_1a2b3c4d5e6f",
    "session": "s_9f8e7d6c",
    "sent_at": 1764000000000,
    "events": [
        {
            "t": "page_view",
            "ts": 1763999990000,
            "path": "/pricing",
            "title": "Pricing",
            "ref": "https://www.example.org/",
        },
        {"t": "click", "ts": 1763999991000, "x": 120, "y": 340, "sel": "button.buy"},
        {"t": "rage_click", "ts": 1763999992000, "count": 4, "sel": "div.price"},
        {"t": "dead_click", "ts": 1763999993000, "sel": "span.tooltip"},
        {"t": "scroll", "ts": 1763999994000, "depth": 0.8, "reversals": 3},
        {"t": "form_error", "ts": 1763999995000, "field": "postcode", "form": "checkout"},
        {"t": "search", "ts": 1763999996000, "results": 0},
        {"t": "js_error", "ts": 1763999996500},
        {"t": "idle", "ts": 1763999997000, "ms": 30000},
        {"t": "exit_intent", "ts": 1763999998000},
        {"t": "heartbeat", "ts": 1763999999000, "visible": True},
        {"t": "custom", "ts": 1763999999100, "name": "added_to_cart", "value": 49.0},
        {"t": "invite_shown", "ts": 1763999999200, "invite": "i_abcdefgh"},
        {"t": "invite_accepted", "ts": 1763999999300, "invite": "i_abcdefgh"},
        {"t": "invite_dismissed", "ts": 1763999999300, "invite": "i_abcdefgh"},
        {"t": "conversion", "ts": 1763999999400, "value": 49.0},
    ],
}

PROTOCOL_EXAMPLE: dict[str, Any] = DESIGN_EXAMPLE | {
    "events": [
        *DESIGN_EXAMPLE["events"],
        {"t": "identify", "ts": 1763999999500, "name": "Ada Lovelace", "email": "ada@example.com"},
    ]
}
"""The design example with the event types added to the protocol since (docs/protocol.md): every type once."""
