"""A small deterministic traffic generator: calm readers, browsers and strugglers on the demo shop.

It writes what the event log holds (server-corrected events grouped in batches
of about five seconds), plus the ground truth the log cannot: who struggled and
when it started. Struggle follows the published signals: rage clicks, dead
clicks, repeated form errors, u-turns (back to the previous page within 7 s)
and zero-result searches. Randomness is a seeded ``random.Random`` owned by
the generator, so the same seed gives the same log.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

Persona = Literal["reader", "browser", "struggler"]
PRODUCTS = [f"/demo/product/{name}" for name in ("blue-shoe", "red-scarf", "green-hat", "grey-coat", "black-bag")]
BATCH_MS = 5_000
HEARTBEAT_MS = 15_000


@dataclass(frozen=True)
class Truth:
    visitor: str
    persona: Persona
    arrived_ms: int
    onset_ms: int | None  # when struggle began (strugglers only)


@dataclass(frozen=True)
class Traffic:
    entries: list[dict[str, Any]]
    truth: dict[str, Truth]


class _Journey:
    def __init__(self, rng: random.Random, start_ms: int) -> None:
        self.rng, self.now = rng, start_ms
        self.events: list[dict[str, Any]] = []
        self.width = rng.choice([390, 820, 1440])

    def add(self, kind: str, **fields: Any) -> None:
        self.events.append({"t": kind, "ts": self.now, **fields})

    def page(self, path: str, ref: str | None = None) -> None:
        fields: dict[str, Any] = {"path": path, "vw": self.width}
        if ref:
            fields["ref"] = ref
        self.add("page_view", **fields)

    def stay(self, seconds: float, clicks: int = 0, scroll: bool = True) -> None:
        """Time on a page, with heartbeats while visible and a few ordinary clicks."""
        end = self.now + int(seconds * 1000)
        click_times = sorted(self.rng.randint(self.now, end) for _ in range(clicks))
        next_beat = self.now + HEARTBEAT_MS
        while self.now < end:
            step_to = min([end, next_beat, *[t for t in click_times if t > self.now]])
            self.now = step_to
            if self.now in click_times:
                self.add("click", x=self.rng.randint(0, 1200), y=self.rng.randint(0, 800))
            if self.now == next_beat:
                self.add("heartbeat", visible=True)
                next_beat += HEARTBEAT_MS
        if scroll:
            self.add("scroll", depth=round(self.rng.uniform(0.3, 1.0), 2), reversals=self.rng.randint(0, 1))

    def wait(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


def _reader(j: _Journey) -> None:
    j.page("/demo/", ref="https://www.example.org/")
    j.stay(j.rng.uniform(20, 60), clicks=1)
    for _ in range(j.rng.randint(1, 3)):
        j.page(j.rng.choice(PRODUCTS))
        if j.rng.random() < 0.08:  # impatient clicks on an image gallery: looks like struggle, is not
            j.wait(j.rng.uniform(3, 10))
            j.add("rage_click", count=3, sel="img.gallery")
        j.stay(j.rng.uniform(40, 120), clicks=j.rng.randint(0, 2))


def _browser(j: _Journey) -> None:
    j.page("/demo/")
    j.stay(j.rng.uniform(5, 15), clicks=1)
    for _ in range(j.rng.randint(4, 9)):
        if j.rng.random() < 0.3:
            j.page("/demo/search")
            if j.rng.random() < 0.3:  # a typo, then found it: a zero-result search that is not struggle
                j.add("search", results=0)
                j.wait(j.rng.uniform(2, 5))
            j.add("search", results=j.rng.randint(1, 40))
            j.stay(j.rng.uniform(4, 10), clicks=1)
        j.page(j.rng.choice(PRODUCTS))
        j.stay(j.rng.uniform(8, 25), clicks=j.rng.randint(0, 3))
        if j.rng.random() < 0.15:
            j.add("dead_click", sel="span.badge")
        if j.rng.random() < 0.05:
            j.add("form_error", field="email", form="newsletter")


def _struggler(j: _Journey) -> int:
    """Browse normally, then struggle at checkout (some mildly: one error, one dead click); returns the onset."""
    j.page("/demo/")
    j.stay(j.rng.uniform(5, 20), clicks=1)
    for _ in range(j.rng.randint(1, 3)):
        j.page(j.rng.choice(PRODUCTS))
        j.stay(j.rng.uniform(10, 40), clicks=j.rng.randint(0, 2))
    j.page("/demo/cart")
    j.stay(j.rng.uniform(5, 15), clicks=1)
    j.page("/demo/checkout")
    j.stay(j.rng.uniform(5, 20), clicks=1, scroll=False)
    onset = j.now
    for round_ in range(j.rng.randint(1, 4)):
        j.add("form_error", field="postcode", form="checkout")
        j.wait(j.rng.uniform(2, 6))
        if round_ == 0:
            j.add("rage_click", count=j.rng.randint(3, 6), sel="button.pay")
        elif j.rng.random() < 0.5:
            j.add("dead_click", sel="span.help-icon")
        j.wait(j.rng.uniform(2, 6))
        if round_ == 1 and j.rng.random() < 0.6:
            j.page("/demo/cart")
            j.wait(j.rng.uniform(2, 5))
            j.page("/demo/checkout")
    j.stay(j.rng.uniform(30, 90), clicks=j.rng.randint(1, 3), scroll=False)
    if j.rng.random() < 0.5:
        j.add("exit_intent")
    return onset


def _batches(site: str, visitor: str, session: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for event in events:
        if entries and event["ts"] - entries[-1]["events"][0]["ts"] < BATCH_MS:
            entries[-1]["events"].append(event)
            entries[-1]["received_ms"] = event["ts"]
        else:
            entries.append(
                {"site": site, "visitor": visitor, "session": session, "received_ms": event["ts"], "events": [event]}
            )
    return entries


def generate(
    visitors: int = 300,
    *,
    seed: int = 7,
    site: str = "demo",
    start_ms: int = 1_748_858_400_000,
    window_s: int = 3600,
    shares: tuple[float, float, float] = (0.5, 0.35, 0.15),
) -> Traffic:
    """``visitors`` arrivals over ``window_s`` seconds; ``shares`` of readers, browsers, strugglers."""
    rng = random.Random(seed)
    entries: list[dict[str, Any]] = []
    truth: dict[str, Truth] = {}
    for n in range(visitors):
        visitor, session = f"v_gen_{seed}_{n:05d}", f"s_gen_{seed}_{n:05d}"
        arrived = start_ms + rng.randint(0, window_s * 1000)
        journey = _Journey(random.Random(rng.getrandbits(64)), arrived)
        persona: Persona = rng.choices(["reader", "browser", "struggler"], weights=shares)[0]  # type: ignore[assignment]
        onset = None
        if persona == "reader":
            _reader(journey)
        elif persona == "browser":
            _browser(journey)
        else:
            onset = _struggler(journey)
        truth[visitor] = Truth(visitor, persona, arrived, onset)
        entries += _batches(site, visitor, session, journey.events)
    entries.sort(key=lambda entry: (entry["received_ms"], entry["visitor"]))
    return Traffic(entries, truth)
