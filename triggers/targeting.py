"""Which pages and which visitors an invitation may reach.

Paths are matched with globs where ``*`` stays within one path segment and
``**`` crosses segments, so ``/products/*`` is a product page and
``/products/**`` is anything under ``/products/``. Audience conditions are a
small tree: the keys set in one condition must all hold, and ``all`` / ``any`` /
``none`` combine nested conditions, which is enough for "desktop visitors from
the newsletter, or anyone who added to cart" without a rule language.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tracker.features import VisitorFacts


def _check_glob(pattern: str) -> str:
    if not pattern.startswith("/") or any(ch.isspace() for ch in pattern):
        raise ValueError(f"path glob {pattern!r} must start with '/' and contain no spaces")
    return pattern


PathGlob = Annotated[str, AfterValidator(_check_glob)]


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    tokens = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(tokens.get(part, re.escape(part)) for part in parts) + r"\Z")


def path_matches(pattern: str, path: str) -> bool:
    return _glob_regex(pattern).match(path) is not None


def first_match(patterns: list[str], path: str | None) -> str | None:
    if path is None:
        return None
    return next((pattern for pattern in patterns if path_matches(pattern, path)), None)


def _shorthand(value: Any) -> Any:
    """A bare string means ``{"equals": ...}``: the common case reads as plain JSON."""
    return {"equals": value} if isinstance(value, str) else value


class TextMatch(BaseModel):
    """Conditions on a text (referrer, UTM value); all those set must hold; case-insensitive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    equals: str | None = None
    contains: str | None = None
    glob: str | None = Field(default=None, description="shell-style glob over the whole text, e.g. 'spring-*'")
    domain: str | None = Field(default=None, description="host equals this domain or is a subdomain of it")
    present: bool | None = Field(default=None, description="true: the value is known; false: it is absent")

    def matches(self, text: str | None) -> bool:
        if self.present is not None and self.present != (text is not None):
            return False
        if text is None:
            return self.present is False or self == TextMatch()
        low = text.lower()
        if self.equals is not None and low != self.equals.lower():
            return False
        if self.contains is not None and self.contains.lower() not in low:
            return False
        if self.glob is not None and not fnmatch.fnmatchcase(low, self.glob.lower()):
            return False
        if self.domain is not None:
            host = (urlsplit(text).hostname or low).lower()
            domain = self.domain.lower()
            if host != domain and not host.endswith("." + domain):
                return False
        return True


Text = Annotated[TextMatch, BeforeValidator(_shorthand)]


class EventCount(BaseModel):
    """How often a custom event (``{"t": "custom", "name": ...}``) happened this session."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    min_count: int = Field(default=1, ge=0)
    max_count: int | None = Field(default=None, ge=0, description="0 means 'has not happened'")

    def matches(self, custom_events: dict[str, int]) -> bool:
        count = custom_events.get(self.name, 0)
        return count >= self.min_count and (self.max_count is None or count <= self.max_count)


class Condition(BaseModel):
    """An audience condition. Every key that is set must hold; an empty condition holds for everyone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    none: list[Condition] | None = None
    device: list[Literal["mobile", "tablet", "desktop"]] | None = None
    visitor: Literal["new", "returning"] | None = None
    referrer: Text | None = None
    utm: dict[Literal["source", "medium", "campaign"], Text] | None = None
    custom_event: EventCount | None = None

    @model_validator(mode="after")
    def _lists_not_empty(self) -> Condition:
        for name in ("all", "any", "none"):
            if getattr(self, name) == []:
                raise ValueError(f"'{name}' needs at least one condition")
        return self

    def matches(self, facts: VisitorFacts) -> bool:
        if self.all is not None and not all(c.matches(facts) for c in self.all):
            return False
        if self.any is not None and not any(c.matches(facts) for c in self.any):
            return False
        if self.none is not None and any(c.matches(facts) for c in self.none):
            return False
        if self.device is not None and facts.device not in self.device:
            return False
        if self.visitor is not None and (self.visitor == "returning") != facts.returning:
            return False
        if self.referrer is not None and not self.referrer.matches(facts.referrer):
            return False
        if self.utm is not None and not all(m.matches(facts.utm.get(k)) for k, m in self.utm.items()):
            return False
        return self.custom_event is None or self.custom_event.matches(facts.custom_events)


class Targeting(BaseModel):
    """Pages where invitations may appear, and who may receive them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    include_paths: list[PathGlob] = Field(
        default_factory=lambda: ["/**"], min_length=1, description="pages where the engine may invite"
    )
    exclude_paths: list[PathGlob] = Field(
        default_factory=list, description="never invite here, even if included (e.g. /checkout/payment)"
    )
    audience: Condition = Field(default_factory=Condition, description="who may be invited")

    def path_allowed(self, path: str | None) -> bool:
        return first_match(self.include_paths, path) is not None and first_match(self.exclude_paths, path) is None
