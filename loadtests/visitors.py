"""One visitor simulator for every load scenario: personas that browse, struggle, convert, and answer
invitations, producing the batches the real tracker would send, with its pacing.

The tracker sends a batch every few seconds while something happens, at once for strong signals
(rage clicks, form errors, dead clicks), and a heartbeat every 15 s while the page is visible. A
simulator is a generator of ``Step``: wait this long, then send these events. Times are stamped
when the batch is built (``clock()``), as the browser does.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]

PRODUCTS = (
    "/demo/product/tide-pan",
    "/demo/product/linen-apron",
    "/demo/product/oak-board",
    "/demo/product/copper-kettle",
    "/demo/product/stone-mortar",
)
PERSONAS = {"reader": 0.35, "browser": 0.30, "struggler": 0.15, "converter": 0.20}
"""Shares of each persona in ``random_persona``: most visitors never need help."""
ACCEPTS = {"reader": 0.02, "browser": 0.05, "struggler": 0.45, "converter": 0.10}
"""Chance a persona accepts an invitation it is shown (the rest dismiss or ignore it)."""
HEARTBEAT_S = 15.0


@dataclass
class Step:
    wait_s: float
    events: list[Event]


@dataclass
class VisitorSimulator:
    persona: str
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time
    visitor: str = field(default_factory=lambda: f"v_{uuid.uuid4().hex[:16]}")
    session: str = field(default_factory=lambda: f"s_{uuid.uuid4().hex[:12]}")
    answered: set[str] = field(default_factory=set)

    def _ms(self) -> int:
        return int(self.clock() * 1000)

    def _batch(self, *events: Event) -> list[Event]:
        """Stamp events as happening over the last moments, oldest first."""
        now = self._ms()
        return [{**event, "ts": now - 40 * (len(events) - i)} for i, event in enumerate(events)]

    def page(self, path: str) -> Event:
        return {"t": "page_view", "path": path, "title": "Kettle & Co.", "vw": self.rng.choice((390, 1280, 1440))}

    def read(self, seconds: float) -> Iterator[Step]:
        """Time on a page: scrolling and heartbeats, a batch every few seconds."""
        spent = 0.0
        while spent < seconds:
            wait = min(self.rng.uniform(3, 6), seconds - spent) if seconds - spent > 1 else seconds - spent
            spent += wait
            events: list[Event] = [
                {"t": "scroll", "depth": round(min(1.0, spent / seconds), 2), "reversals": self.rng.choice((0, 0, 1))}
            ]
            if self.rng.random() < 0.3:
                events.append(
                    {"t": "click", "x": self.rng.randint(0, 1200), "y": self.rng.randint(0, 800), "sel": "a.product"}
                )
            if spent % HEARTBEAT_S < wait:
                events.append({"t": "heartbeat", "visible": True})
            yield Step(wait, self._batch(*events))

    def journey(self) -> Iterator[Step]:
        match self.persona:
            case "reader":
                yield Step(
                    0,
                    self._batch(
                        self.page("/demo/"),
                    ),
                )
                for path in self.rng.sample(PRODUCTS, 2):
                    yield from self.read(self.rng.uniform(20, 45))
                    yield Step(1, self._batch(self.page(path)))
                yield from self.read(30)
            case "browser":
                yield Step(0, self._batch(self.page("/demo/")))
                for _ in range(self.rng.randint(4, 8)):
                    yield from self.read(self.rng.uniform(4, 12))
                    if self.rng.random() < 0.3:
                        yield Step(1, self._batch(self.page("/demo/search"), {"t": "search", "results": 4}))
                    yield Step(1, self._batch(self.page(self.rng.choice(PRODUCTS))))
            case "struggler":
                yield Step(0, self._batch(self.page("/demo/")))
                yield from self.read(15)
                yield Step(2, self._batch(self.page("/demo/search"), {"t": "search", "results": 0}))
                yield Step(4, self._batch({"t": "search", "results": 0}))
                yield Step(3, self._batch(self.page("/demo/checkout")))
                for _ in range(3):
                    yield Step(
                        self.rng.uniform(2, 5),
                        self._batch(
                            {"t": "form_error", "field": "postcode", "form": "checkout"},
                            {"t": "rage_click", "count": self.rng.randint(3, 6), "sel": "button.pay"},
                        ),
                    )
                yield Step(2, self._batch(self.page("/demo/cart")))
                yield Step(3, self._batch(self.page("/demo/checkout"), {"t": "dead_click", "sel": "span.help"}))
                yield from self.read(20)
            case _:  # converter
                yield Step(0, self._batch(self.page("/demo/")))
                yield from self.read(10)
                yield Step(1, self._batch(self.page(self.rng.choice(PRODUCTS))))
                yield from self.read(15)
                yield Step(
                    2, self._batch({"t": "custom", "name": "added_to_cart", "value": 24.0}, self.page("/demo/cart"))
                )
                yield Step(5, self._batch(self.page("/demo/checkout")))
                yield from self.read(20)
                yield Step(3, self._batch({"t": "conversion", "value": 24.0}))

    def respond(self, decision: dict[str, Any] | None) -> list[Event]:
        """What the widget reports when an invitation arrives: shown, then accepted or dismissed."""
        if not decision or decision.get("action") != "invite" or decision["invite"] in self.answered:
            return []
        invite = decision["invite"]
        self.answered.add(invite)
        answer = self.rng.random()
        if answer < ACCEPTS[self.persona]:
            return self._batch({"t": "invite_shown", "invite": invite}, {"t": "invite_accepted", "invite": invite})
        if answer < 0.7:
            return self._batch({"t": "invite_shown", "invite": invite}, {"t": "invite_dismissed", "invite": invite})
        return self._batch({"t": "invite_shown", "invite": invite})  # ignored


def random_persona(rng: random.Random) -> str:
    return rng.choices(list(PERSONAS), weights=list(PERSONAS.values()))[0]


def envelope(simulator: VisitorSimulator, events: list[Event], site: str = "demo") -> dict[str, Any]:
    return {
        "v": 1,
        "site": site,
        "visitor": simulator.visitor,
        "session": simulator.session,
        "sent_at": int(simulator.clock() * 1000),
        "events": events,
    }
