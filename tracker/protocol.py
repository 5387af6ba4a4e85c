"""Wire protocol v1: the contract between the browser tracker and ``POST /v1/collect``.

Every event type is a ``msgspec.Struct`` tagged by its ``t`` field, so decoding and
validation are one pass in C. Unknown event types and unknown fields are rejected
(``forbid_unknown_fields``): a tracker that sends something the server does not
understand hears about it instead of losing data silently.

Field limits are part of the contract and documented in docs/protocol.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from tracker.days import DAY_MS

PROTOCOL_VERSION = 1
MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 200

Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{8,64}$", description="opaque id, 8 to 64 of [A-Za-z0-9_-]")]
SITE_KEY = r"[A-Za-z0-9_-]{1,64}"
"""A public site key, the one definition (the config, collect, the chat API, the CLI and model files use it;
widget_js/src/boot.js has its copy, checked equal by tests/tracker/test_protocol.py)."""
SITE_KEY_PATTERN = f"^{SITE_KEY}$"
SiteKey = Annotated[str, msgspec.Meta(pattern=SITE_KEY_PATTERN, description="public site key")]
Millis = Annotated[int, msgspec.Meta(ge=0, le=10**14, description="milliseconds since the epoch, browser clock")]
Path = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, description="URL path, optionally with query")]
Title = Annotated[str, msgspec.Meta(max_length=512)]
Url = Annotated[str, msgspec.Meta(max_length=2048)]
Selector = Annotated[str, msgspec.Meta(max_length=256, description="CSS selector of the target element")]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Count = Annotated[int, msgspec.Meta(ge=0, le=10**6)]
Coordinate = Annotated[int, msgspec.Meta(ge=-100_000, le=100_000)]
Money = Annotated[float, msgspec.Meta(ge=-1e9, le=1e9)]
Depth = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Viewport = Annotated[int, msgspec.Meta(ge=0, le=100_000)]

PERSON_NAME_MAX = 128
EMAIL_MAX = 254
"""The longest address SMTP can carry (RFC 5321's path limit, less its angle brackets)."""
PERSON_NAME_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
"""Printable, no leading or trailing space. widget_js/src/identify.js has its copy (NAME_OK), checked equal by
tests/tracker/test_protocol.py."""
_EMAIL_CHAR = r'[^\s@<>()\[\],;:\\"\x00-\x1f\x7f'
EMAIL_PATTERN = rf"^{_EMAIL_CHAR}]{{1,64}}@(?:{_EMAIL_CHAR}.]+\.)+{_EMAIL_CHAR}.]{{2,}}$"
"""An address's shape: a local part of at most 64 characters, ``@``, a dotted domain; no spaces, quotes,
brackets or control characters. Not proof that it exists. identify.js has its copy (EMAIL_OK)."""
PersonName = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=PERSON_NAME_MAX, pattern=PERSON_NAME_PATTERN, description="a name"),
]
Email = Annotated[
    str, msgspec.Meta(max_length=EMAIL_MAX, pattern=EMAIL_PATTERN, description="an email address, name@domain.tld")
]


class _Event(msgspec.Struct, tag_field="t", forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    ts: Millis


class PageView(_Event, tag="page_view"):
    path: Path
    title: Title | None = None
    ref: Url | None = None
    vw: Viewport | None = None  # viewport width in CSS px: device class without user-agent sniffing


class Click(_Event, tag="click"):
    x: Coordinate
    y: Coordinate
    sel: Selector | None = None


class RageClick(_Event, tag="rage_click"):
    count: Annotated[int, msgspec.Meta(ge=3, le=10_000)]
    sel: Selector | None = None


class DeadClick(_Event, tag="dead_click"):
    sel: Selector | None = None


class Scroll(_Event, tag="scroll"):
    depth: Depth
    reversals: Count = 0


class FormError(_Event, tag="form_error"):
    field: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    form: Annotated[str, msgspec.Meta(max_length=128)] | None = None


class Search(_Event, tag="search"):
    results: Count


class JsError(_Event, tag="js_error"):
    pass


class Idle(_Event, tag="idle"):
    ms: Annotated[int, msgspec.Meta(ge=0, le=DAY_MS)]


class ExitIntent(_Event, tag="exit_intent"):
    pass


class Heartbeat(_Event, tag="heartbeat"):
    visible: bool


class Custom(_Event, tag="custom"):
    name: Name
    value: Money | None = None


class InviteShown(_Event, tag="invite_shown"):
    invite: Id


class InviteAccepted(_Event, tag="invite_accepted"):
    invite: Id


class InviteDismissed(_Event, tag="invite_dismissed"):
    invite: Id


class Conversion(_Event, tag="conversion"):
    value: Money | None = None


class Identify(_Event, tag="identify"):
    """Who the visitor is, as the site says (``tactful('identify', ...)``); without name and email: forget it.

    An event rather than a batch field: it has a time, so the latest call wins whatever order batches arrive
    in, and it rides the outbox's queue, retries and dedup like every other event (docs/protocol.md)."""

    name: PersonName | None = None
    email: Email | None = None


Event = (
    PageView
    | Click
    | RageClick
    | DeadClick
    | Scroll
    | FormError
    | Search
    | JsError
    | Idle
    | ExitIntent
    | Heartbeat
    | Custom
    | InviteShown
    | InviteAccepted
    | InviteDismissed
    | Conversion
    | Identify
)

EVENT_TYPES: tuple[str, ...] = tuple(cls.__struct_config__.tag for cls in Event.__args__)


class Batch(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One ``POST /v1/collect`` body."""

    v: Literal[1]
    site: SiteKey
    visitor: Id
    session: Id
    sent_at: Millis
    events: Annotated[list[Event], msgspec.Meta(min_length=1, max_length=MAX_EVENTS)]
