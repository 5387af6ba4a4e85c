"""The proving ground's visitors: seeded, varied personas of a small web shop, with their ground truth.

Each visit is a script of what the browser tracker would record (page views, clicks, struggle signals,
custom events), timed in simulated milliseconds, plus what the engine can never see: whether the visitor
needs help and would take it, when their struggle began, and when they give up and leave. The engine is
never told the persona; it sees only the events. Every number below is drawn per visit from a range, so
no two visits of a persona are the same script.

| kind | needs help | takes a chat | what they do |
|---|---|---|---|
| ``checkout_struggler`` | yes | mostly | fails a field again and again, rage and dead clicks, u-turns, idles |
| ``search_lost`` | yes | often | searches that find nothing, u-turns between products, dead clicks on filters |
| ``broken_page`` | yes | often | a script error, then a button that does nothing, clicked in anger |
| ``signin_decliner`` | no | rarely | struggles as hard on the sign-in page, but wants the reset link, not a chat |
| ``empty_submitter`` | no | no | submits the empty form once (an error per empty field), then fills it in |
| ``typo_fixer`` | no | no | one field error, fixed at once |
| ``reader`` | no | no | reads long pages, idles, scrolls back and forth |
| ``browser`` | no | no | looks at products; now and then a stray dead click, script error or mistyped search |
| ``converter`` | no | no | buys without trouble |

Devices (mobile, tablet, desktop), traffic sources (direct, search, social, campaign) and returning
visitors (an earlier visit days before) are drawn for every persona alike.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracker.days import DAY_MS

Event = dict[str, Any]

PRODUCTS = (
    "tide-pan",
    "linen-apron",
    "oak-board",
    "copper-kettle",
    "stone-mortar",
    "wool-throw",
    "clay-mug",
    "brass-lamp",
    "cedar-box",
    "glass-jar",
)
POSTS = ("care-for-cast-iron", "linen-guide", "gift-ideas", "our-workshop")
CHECKOUT_FIELDS = ("email", "name", "address", "city", "postcode", "country", "card", "expiry", "cvc", "phone")
SOURCES = {
    "direct": (0.35, None, None),
    "search": (0.35, "https://www.google.com/", None),
    "social": (0.15, "https://www.instagram.com/", None),
    "campaign": (0.15, None, "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"),
}
DEVICES = {"mobile": (0.50, 390), "tablet": (0.08, 820), "desktop": (0.42, 1440)}

MIX: dict[str, float] = {
    "checkout_struggler": 0.10,
    "search_lost": 0.04,
    "broken_page": 0.03,
    "signin_decliner": 0.05,
    "empty_submitter": 0.08,
    "typo_fixer": 0.08,
    "reader": 0.22,
    "browser": 0.25,
    "converter": 0.15,
}
"""Shares of visits: most visitors never need help."""
WANTED = frozenset({"checkout_struggler", "search_lost", "broken_page"})
"""The kinds an invitation should reach: they need help and mostly take it."""
URGENT = frozenset(
    {
        "rage_click",
        "dead_click",
        "form_error",
        "exit_intent",
        "conversion",
        "invite_shown",
        "invite_accepted",
        "invite_dismissed",
    }
)
"""Events the tracker sends at once instead of with the next five-second flush (widget_js: record(e, true))."""


def urgent(event: Event, previous_search: int | None = None) -> bool:
    """As the tracker decides; a search is sent at once when the one before it (``previous_search``, its
    results) found nothing: searching in vain again, or putting an empty search right."""
    if event["t"] == "search":
        return previous_search == 0
    return event["t"] in URGENT


@dataclass
class Visit:
    """One session's script and its ground truth."""

    visitor: str
    session: str
    kind: str
    arrive_ms: int
    events: list[tuple[int, Event]]
    """(simulated ms, event without ``ts``), in time order."""
    leave_ms: int
    device: str
    source: str
    returning: bool
    onset_ms: int | None = None
    """When struggle began (the first struggle act); None for visitors who never struggle."""
    accept_p: float = 0.0
    """Probability of accepting an invitation shown while struggling (before onset: a tenth of it)."""
    severity: float = 0.0
    """How hard the struggle is (its number of acts, up to 8, as 0 to 1)."""
    prelude: bool = False
    """An earlier visit of a returning visitor (one to seven days before the counted visits begin)."""
    converts: bool = False

    @property
    def need(self) -> float:
        """How much a chat would change this visit, 0 to 1: severity times the chance they take it. The
        scarce-agent experiment's ground truth."""
        return round(self.severity * self.accept_p, 4)

    @property
    def wanted(self) -> bool:
        return self.kind in WANTED


def _pick(rng: random.Random, table: dict[str, Any]) -> str:
    names = list(table)
    weights = [table[name][0] if isinstance(table[name], tuple) else table[name] for name in names]
    return rng.choices(names, weights)[0]


@dataclass
class _Script:
    """A cursor through one visit's time, writing what the tracker would record."""

    rng: random.Random
    now: int
    width: int
    ref: str | None
    query: str | None
    events: list[tuple[int, Event]] = field(default_factory=list)
    path: str | None = None
    previous: str | None = None
    stray_js: float = 0.0
    """Chance that a page throws a script error as it loads, for every visitor (a third-party tag)."""

    def wait(self, low_s: float, high_s: float) -> None:
        self.now += int(self.rng.uniform(low_s, high_s) * 1000)

    def add(self, kind: str, **fields: Any) -> None:
        self.events.append((self.now, {"t": kind, **fields}))

    def page(self, path: str, title: str | None = None) -> None:
        fields: dict[str, Any] = {"path": path + (self.query or ""), "vw": self.width}
        if self.ref:
            fields["ref"] = self.ref
        if title:
            fields["title"] = title
        self.ref, self.query = None, None  # only the landing page carries the referrer and the campaign
        self.add("page_view", **fields)
        self.previous, self.path = self.path, path
        if self.stray_js and self.rng.random() < self.stray_js:
            self.add("js_error")

    def browse(self, low_s: float, high_s: float, clicks: int = 2, scroll_back: int = 0) -> None:
        """Time on the current page with ordinary clicks and a scroll."""
        end = self.now + int(self.rng.uniform(low_s, high_s) * 1000)
        for _ in range(clicks):
            self.now = min(end, self.now + int(self.rng.uniform(1.0, 6.0) * 1000))
            self.add("click", x=self.rng.randint(0, self.width - 1), y=self.rng.randint(0, 1800), sel="a.product")
        self.add("scroll", depth=round(self.rng.uniform(0.3, 1.0), 2), reversals=scroll_back)
        self.now = max(self.now, end)

    def u_turn(self, detour: str) -> None:
        """To another page and back within a few seconds."""
        back = self.path or "/"
        self.page(detour)
        self.wait(1.5, 5.0)
        self.page(back)


def _landing(script: _Script) -> None:
    script.page(script.rng.choice(["/", f"/product/{script.rng.choice(PRODUCTS)}"]), "Home")


def _shop(
    script: _Script, products: int, cart: bool, aside: dict[int, list[Callable[[], None]]] | None = None
) -> float:
    """Look at a few products, maybe add them to the cart; returns the cart's value. ``aside``: per product
    page (by its index), what else happens while the visitor is on it."""
    value = 0.0
    for index in range(products):
        script.page(f"/product/{script.rng.choice(PRODUCTS)}")
        script.browse(8, 40, clicks=script.rng.randint(1, 4))
        for act in (aside or {}).get(index, ()):
            act()
            script.wait(2, 10)
        if cart and (value == 0.0 or script.rng.random() < 0.4):
            price = round(script.rng.uniform(12, 180), 2)
            script.add("custom", name="added_to_cart", value=price)
            value += price
    return value


def _to_checkout(script: _Script) -> None:
    script.page("/cart", "Cart")
    script.browse(4, 15, clicks=1)
    script.page("/checkout", "Checkout")


def _form_error(script: _Script, fields: list[str], form: str = "checkout") -> None:
    """One submit: one error per failing field, all stamped at the same moment, as the tracker sends them."""
    for name in fields:
        script.add("form_error", field=name, form=form)


def _struggle_acts(script: _Script, acts: list[str], stuck_field: str, form: str, leave_at: int) -> None:
    for act in acts:
        if script.now >= leave_at:
            return
        if act == "field":
            _form_error(script, [stuck_field], form)
        elif act == "rage":
            script.add("rage_click", count=script.rng.randint(3, 7), sel="button.submit")
        elif act == "dead":
            script.add("dead_click", sel="span.hint")
        elif act == "u_turn":
            script.u_turn(script.rng.choice(["/cart", "/help/delivery", "/"]))
        elif act == "search":
            script.add("search", results=0)
        elif act == "idle":
            gap = int(script.rng.uniform(20, 40) * 1000)
            script.now += gap
            script.add("idle", ms=gap)
        elif act == "js":
            script.add("js_error")
        script.wait(1.5, 6.0)


def _struggle(
    script: _Script,
    visit: Visit,
    kinds: list[str],
    first: str,
    stuck_field: str,
    form: str,
    patience: tuple[float, float],
    count: tuple[int, int],
) -> None:
    """Struggle from now until patience runs out: ``first`` act, then a shuffle of ``kinds``."""
    visit.onset_ms = script.now
    leave_at = script.now + int(script.rng.uniform(*patience) * 1000)
    acts = [first] + [script.rng.choice(kinds) for _ in range(script.rng.randint(*count))]
    _struggle_acts(script, acts, stuck_field, form, leave_at)
    script.now = max(script.now, leave_at)
    if script.width >= 1024 and script.rng.random() < 0.6:
        script.add("exit_intent")
    visit.severity = min(1.0, len(acts) / 8)


def checkout_struggler(script: _Script, visit: Visit) -> None:
    _landing(script)
    script.browse(5, 25)
    _shop(script, script.rng.randint(1, 3), cart=True)
    _to_checkout(script)
    script.browse(6, 25, clicks=2)  # filling in the form
    stuck = script.rng.choice(["postcode", "card", "expiry", "address", "phone"])
    _struggle(
        script,
        visit,
        ["field", "field", "rage", "dead", "u_turn", "search", "idle"],
        "field",
        stuck,
        "checkout",
        patience=(15, 45),
        count=(3, 7),
    )
    visit.accept_p = script.rng.uniform(0.6, 0.9)


def search_lost(script: _Script, visit: Visit) -> None:
    _landing(script)
    script.browse(5, 20)
    script.page("/search", "Search")
    script.wait(2, 6)
    _struggle(
        script,
        visit,
        ["search", "search", "u_turn", "dead", "rage"],
        "search",
        "q",
        "search",
        patience=(20, 60),
        count=(3, 6),
    )
    visit.accept_p = script.rng.uniform(0.45, 0.8)


def broken_page(script: _Script, visit: Visit) -> None:
    _landing(script)
    _shop(script, script.rng.randint(0, 2), cart=False)
    script.page(f"/product/{script.rng.choice(PRODUCTS)}")
    script.browse(5, 15, clicks=1)
    _struggle(script, visit, ["dead", "rage", "dead", "js", "u_turn"], "js", "", "", patience=(15, 40), count=(3, 6))
    visit.accept_p = script.rng.uniform(0.45, 0.8)


def signin_decliner(script: _Script, visit: Visit) -> None:
    _landing(script)
    script.browse(3, 15)
    script.page("/account/sign-in", "Sign in")
    script.browse(4, 12, clicks=1)
    _struggle(
        script,
        visit,
        ["field", "field", "rage", "dead", "u_turn", "idle"],
        "field",
        "password",
        "sign-in",
        patience=(20, 60),
        count=(3, 7),
    )
    visit.accept_p = script.rng.uniform(0.0, 0.08)


def empty_submitter(script: _Script, visit: Visit) -> None:
    _landing(script)
    _shop(script, script.rng.randint(1, 3), cart=True)
    _to_checkout(script)
    script.wait(1, 4)
    empty = script.rng.sample(CHECKOUT_FIELDS, script.rng.randint(3, len(CHECKOUT_FIELDS)))
    _form_error(script, empty)
    for _ in range(len(empty)):  # then fills each field in, calmly
        script.wait(3, 9)
        script.add("click", x=script.rng.randint(0, script.width - 1), y=script.rng.randint(200, 1400), sel="input")
    script.wait(2, 6)
    visit.converts = True


def typo_fixer(script: _Script, visit: Visit) -> None:
    _landing(script)
    _shop(script, script.rng.randint(1, 3), cart=True)
    _to_checkout(script)
    script.browse(10, 40, clicks=3)
    _form_error(script, [script.rng.choice(["email", "postcode", "card", "phone"])])
    script.wait(2, 5)
    script.add("click", x=100, y=700, sel="button.submit")
    script.wait(2, 8)
    visit.converts = True


def reader(script: _Script, visit: Visit) -> None:
    for index in range(script.rng.randint(1, 4)):
        if index == 0 and script.rng.random() < 0.5:
            _landing(script)
        else:
            script.page(f"/blog/{script.rng.choice(POSTS)}", "Journal")
        script.browse(30, 150, clicks=script.rng.randint(0, 2), scroll_back=script.rng.randint(0, 4))
        if script.rng.random() < 0.6:
            gap = int(script.rng.uniform(30, 180) * 1000)
            script.now += gap
            script.add("idle", ms=gap)


def browser(script: _Script, visit: Visit) -> None:
    """Each stray signal happens on one of the product pages, drawn on its own: now and then two of them
    fall on the same page, seconds apart, as they would by chance."""
    rng = script.rng

    def dead_click() -> None:
        script.add("dead_click", sel="img.gallery")

    def js_error() -> None:  # real shops log stray script errors that nobody notices
        script.add("js_error")

    def search() -> None:
        if rng.random() < 0.4:  # a typo in the search box, put right at once
            script.add("search", results=0)
            script.wait(2, 6)
        script.add("search", results=rng.randint(1, 30))
        script.browse(4, 15)

    products = rng.randint(2, 7)
    aside: dict[int, list[Callable[[], None]]] = {}
    for act, chance in ((dead_click, 0.5), (js_error, 0.15), (search, 0.3)):
        if rng.random() < chance:
            aside.setdefault(rng.randrange(products), []).append(act)
    _landing(script)
    script.browse(4, 20)
    _shop(script, products, cart=rng.random() < 0.4, aside=aside)


def converter(script: _Script, visit: Visit) -> None:
    _landing(script)
    _shop(script, script.rng.randint(1, 3), cart=True)
    _to_checkout(script)
    script.browse(20, 70, clicks=5)
    visit.converts = True


PERSONAS = {
    "checkout_struggler": checkout_struggler,
    "search_lost": search_lost,
    "broken_page": broken_page,
    "signin_decliner": signin_decliner,
    "empty_submitter": empty_submitter,
    "typo_fixer": typo_fixer,
    "reader": reader,
    "browser": browser,
    "converter": converter,
}
assert set(PERSONAS) == set(MIX)


def _visit(
    rng: random.Random,
    kind: str,
    visitor: str,
    index: int,
    arrive_ms: int,
    returning: bool,
    prelude: bool = False,
    stray_js: float = 0.0,
) -> Visit:
    device = _pick(rng, DEVICES)
    source = _pick(rng, SOURCES)
    _, ref, query = SOURCES[source]
    script = _Script(rng, arrive_ms, DEVICES[device][1], ref, query, stray_js=stray_js)
    visit = Visit(
        visitor,
        f"s_{index:08d}{'p' if prelude else 'm'}",
        kind,
        arrive_ms,
        script.events,
        arrive_ms,
        device,
        source,
        returning,
        prelude=prelude,
    )
    PERSONAS[kind](script, visit)
    if visit.converts:
        script.add("conversion", value=round(rng.uniform(20, 240), 2))
    visit.leave_ms = max(script.now, arrive_ms + 1000)
    return visit


def generate(
    count: int,
    seed: int,
    start_ms: int,
    per_hour: float = 1800.0,
    mix: dict[str, float] | None = None,
    returning_share: float = 0.3,
    stray_js: float = 0.0,
) -> list[Visit]:
    """``count`` visits arriving as a Poisson stream of ``per_hour``, and the earlier visits of returning ones.

    The same seed gives the same visits. A returning visitor's earlier visit happened one to seven days
    before, drawn from the same mix (a visitor who struggled then may be back), so the engine knows them
    from their own history, never from the persona. Earlier visits are visits like any other: they are
    measured by their own kind, and they are the traffic a site learns from before the counted ones.

    ``stray_js``: a noisy site, where that share of page loads throws a script error whoever the visitor
    is (a third-party tag); 0 draws nothing, so the same seed gives the same visits as before."""
    rng = random.Random(seed)
    shares = mix or MIX
    kinds, weights = list(shares), list(shares.values())
    visits: list[Visit] = []
    now = start_ms
    for index in range(count):
        now += int(rng.expovariate(per_hour / 3_600_000))
        kind = rng.choices(kinds, weights)[0]
        visitor = f"v_{seed:04d}{index:08d}"
        returning = rng.random() < returning_share
        if returning:
            earlier = now - int(rng.uniform(1, 7) * DAY_MS)
            before = rng.choices(kinds, weights)[0]
            visits.append(_visit(rng, before, visitor, index, earlier, False, prelude=True, stray_js=stray_js))
        visits.append(_visit(rng, kind, visitor, index, now, returning, stray_js=stray_js))
    return visits
