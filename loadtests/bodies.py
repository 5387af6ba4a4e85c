"""Collect bodies as the tracker sends them, for load tests: fresh events every time, many visitors."""

from __future__ import annotations

import itertools
import random
import time
from typing import Any

import orjson

KINDS = (
    "click",
    "scroll",
    "heartbeat",
    "click",
    "page_view",
    "click",
    "idle",
    "form_error",
    "rage_click",
    "dead_click",
)
"""The event mix of a load test's batches, in the proportions a busy page sends them."""
_PATHS = ("/", "/products/1", "/products/2", "/search", "/cart", "/checkout", "/help")
_counter = itertools.count()


def event(kind: str, ts: int, rng: random.Random) -> dict[str, Any]:
    match kind:
        case "page_view":
            return {"t": kind, "ts": ts, "path": rng.choice(_PATHS), "title": "Demo shop", "vw": 1280}
        case "click":
            return {"t": kind, "ts": ts, "x": rng.randint(0, 1200), "y": rng.randint(0, 800), "sel": "a.product"}
        case "scroll":
            return {"t": kind, "ts": ts, "depth": round(rng.random(), 2), "reversals": rng.randint(0, 2)}
        case "heartbeat":
            return {"t": kind, "ts": ts, "visible": True}
        case "idle":
            return {"t": kind, "ts": ts, "ms": rng.randint(1000, 30000)}
        case "form_error":
            return {"t": kind, "ts": ts, "field": "postcode", "form": "checkout"}
        case "rage_click":
            return {"t": kind, "ts": ts, "count": 3, "sel": "button.pay"}
        case _:
            return {"t": kind, "ts": ts, "sel": "span.tooltip"}


def collect_body(visitor: str, session: str, batch_size: int, rng: random.Random, site: str = "demo") -> bytes:
    """One batch of ``batch_size`` events, timestamps unique so that none is a duplicate."""
    now = int(time.time() * 1000)
    tick = next(_counter)
    events = [event(KINDS[(tick + i) % len(KINDS)], now - batch_size + i, rng) for i in range(batch_size)]
    return orjson.dumps(
        {"v": 1, "site": site, "visitor": visitor, "session": session, "sent_at": now, "events": events}
    )
