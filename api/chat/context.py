"""What the agent sees beside a chat: who the visitor is (when the site says), their journey, struggle
signals, and why the engine invited.

Built once when the chat is requested and kept in the chat record, so the
transcript keeps the context the agent worked with (and the webhooks carry it).
"""

from __future__ import annotations

from typing import Any

from api.store import VisitorLog
from tracker.context import external_referrer
from tracker.features import describe
from tracker.identity import identity_of
from tracker.merge import is_u_turn

JOURNEY_LIMIT = 30
SIGNAL_LIMIT = 40
LOOKBACK_MS = 2 * 3600 * 1000
SIGNALS = {"rage_click", "dead_click", "form_error", "js_error", "exit_intent", "idle"}


def _signal(event: dict[str, Any]) -> dict[str, Any] | None:
    kind, ts = event.get("t"), int(event.get("ts", 0))
    if kind == "search":
        return {"kind": "zero_result_search", "ts": ts} if event.get("results") == 0 else None
    if kind not in SIGNALS:
        return None
    detail = {
        "rage_click": event.get("sel"),
        "dead_click": event.get("sel"),
        "form_error": "/".join(str(p) for p in (event.get("form"), event.get("field")) if p),
        "idle": f"{int(event.get('ms', 0)) // 1000} s" if kind == "idle" else None,
    }.get(str(kind))
    return {"kind": kind, "ts": ts, "detail": detail}


def journey_and_signals(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Page views with their times, and the struggle signals (u-turns derived here, as the server does)."""
    events = sorted(events, key=lambda e: int(e.get("ts", 0)))
    pages: list[dict[str, Any]] = [
        {"path": e.get("path"), "title": e.get("title"), "ts": int(e["ts"])}
        for e in events
        if e.get("t") == "page_view"
    ]
    signals = [signal for e in events if (signal := _signal(e))]
    for before, left, back in zip(pages, pages[1:], pages[2:], strict=False):
        if is_u_turn(before["path"], left["path"], back["path"], int(left["ts"]), int(back["ts"])):
            signals.append({"kind": "u_turn", "ts": back["ts"], "detail": f"{left['path']} → {back['path']}"})
    signals.sort(key=lambda s: int(s["ts"]))
    return pages[-JOURNEY_LIMIT:], signals[-SIGNAL_LIMIT:]


async def visitor_context(
    store: VisitorLog, site: str, visitor: str, now_ms: int, own_hosts: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The visitor as they are at ``now_ms``: the console asks again while the chat is open, so the page
    they are on, their time on site and new struggle signals stay current."""
    session, record = await store.load_visitor(site, visitor)
    facts = describe(session, record, now_ms)
    since = max(now_ms - LOOKBACK_MS, (facts.session_started_ms or now_ms) - 60_000)
    # Site-wide read bounded by time: chats are rare next to collects, so this stays cheap.
    entries = await store.read_log(site, start_ms=since, limit=20_000)
    events = [event for entry in entries if entry.visitor == visitor for event in entry.events]
    journey, signals = journey_and_signals(events)
    started = facts.session_started_ms
    return {
        "identity": identity_of(record),  # only what the site passed with tactful('identify', ...)
        "journey": journey,
        "signals": signals,
        "device": facts.device,
        "referrer": external_referrer(facts.referrer, own_hosts),
        "utm": facts.utm,
        "returning": facts.returning,
        "current_path": facts.path,
        "time_on_site_s": None if started is None else max(0, (now_ms - started) // 1000),
        "as_of_ms": now_ms,
    }


async def chat_context(
    store: VisitorLog,
    site: str,
    visitor: str,
    invite: dict[str, Any] | None,
    now_ms: int,
    own_hosts: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The visitor's context when the chat was requested, with why the engine invited."""
    decision = (invite or {}).get("decision") or {}
    return {
        **await visitor_context(store, site, visitor, now_ms, own_hosts),
        "score": decision.get("score"),
        "reasons": list(decision.get("reasons") or []),
        "message": decision.get("message"),
        "mode": decision.get("mode"),
        "invited_ms": (invite or {}).get("ts"),
    }
