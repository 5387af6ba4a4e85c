"""Scripted shop visitors on a simulated clock, driven through /v1/collect: shared by the API tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import orjson
from fastapi.testclient import TestClient

from triggers import SiteConfig
from triggers.presets import demo_config

ORIGIN = "http://shop.test"
NOON_WEDNESDAY_LONDON = 1_764_158_400.0  # 2025-11-26T12:00:00Z, inside the demo's opening hours
S = 1000


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def shop_config() -> SiteConfig:
    """The demo shop's own config, allowing the test origin."""
    document = demo_config([ORIGIN]).model_dump(mode="json")
    return SiteConfig.model_validate(document)


def rollout_visitors(config: SiteConfig) -> Iterator[str]:
    """Visitor ids the experiment puts in the rollout group (not holdout, not exploration)."""
    for n in itertools.count():
        visitor = f"v_e2e{n:08d}"
        if config.experiment.group(config.site, visitor) == "rollout":
            yield visitor


class Visitor:
    """A browser on the simulated clock: each ``at`` sends what happened since the last call."""

    def __init__(self, client: TestClient, clock: Clock, visitor: str) -> None:
        self.client, self.clock, self.visitor = client, clock, visitor
        self.decisions: list[tuple[float, dict[str, Any]]] = []

    def at(self, second: float, *events: dict[str, Any]) -> dict[str, Any] | None:
        self.clock.now = NOON_WEDNESDAY_LONDON + second
        now_ms = int(self.clock.now * 1000)
        batch = [{**event, "ts": now_ms - 10 * (len(events) - i)} for i, event in enumerate(events)]
        batch = batch or [{"t": "heartbeat", "ts": now_ms, "visible": True}]
        response = self.client.post(
            "/v1/collect",
            headers={"origin": ORIGIN, "content-type": "application/json"},
            content=orjson.dumps(
                {
                    "v": 1,
                    "site": "demo",
                    "visitor": self.visitor,
                    "session": "s_" + self.visitor[2:],
                    "sent_at": now_ms,
                    "events": batch,
                }
            ),
        )
        assert response.status_code == 200, response.text
        decision: dict[str, Any] | None = response.json()["decision"]
        if decision:
            self.decisions.append((second, decision))
        return decision

    def browse(self, until: float, start: float = 0.0) -> None:
        """A calm reader: a page now and then, scrolling, a few clicks, heartbeats every 5 s."""
        pages = itertools.cycle(["/demo/", "/demo/product/1", "/demo/product/2", "/demo/cart"])
        for second in range(int(start), int(until), 5):
            events: list[dict[str, Any]] = [{"t": "scroll", "depth": 0.5, "reversals": 0}]
            if second % 15 == 0:
                events.insert(0, {"t": "page_view", "path": next(pages)})
            if second % 10 == 5:
                events.append({"t": "click", "x": 100, "y": 200})
            self.at(second, *events)


def agents_online(client: TestClient, count: int, active_chats: int = 0) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]

    async def go() -> None:
        for n in range(count):
            await engine.store.put_expiring(
                "demo",
                "agents",
                f"agent{n}",
                {"status": "online", "max_chats": 3, "active_chats": active_chats},
                10**15,
            )
        await engine.decider.availability.refresh_all()

    client.portal.call(go)  # type: ignore[union-attr]


def struggle(visitor: Visitor, onset: float) -> float | None:
    """Rage clicks, repeated form errors and a u-turn on the checkout; returns when it was invited."""
    visitor.at(
        onset,
        {"t": "page_view", "path": "/demo/checkout"},
        {"t": "form_error", "field": "postcode", "form": "checkout"},
    )
    visitor.at(
        onset + 2,
        {"t": "form_error", "field": "postcode", "form": "checkout"},
        {"t": "rage_click", "count": 4, "sel": "button.pay"},
    )
    visitor.at(onset + 3, {"t": "page_view", "path": "/demo/cart"})
    visitor.at(onset + 6, {"t": "page_view", "path": "/demo/checkout"})
    for second in range(int(onset) + 8, int(onset) + 30, 2):
        if visitor.at(
            second, {"t": "dead_click", "sel": "span.help"} if second % 4 == 0 else {"t": "heartbeat", "visible": True}
        ):
            break
    return visitor.decisions[0][0] if visitor.decisions else None
