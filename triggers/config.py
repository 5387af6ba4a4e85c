"""A site's configuration document: one validated pydantic model per site.

Every section has safe defaults (no invitation before 20 s, one per session, a
day's cooldown after a "no", nothing offered when nobody can answer), so
``SiteConfig(site="demo")`` is a complete, conservative policy and a marketer's
document only states what differs. Unknown keys are rejected with their name,
because a misspelt option that is silently ignored is a policy nobody chose.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker.context import context_features
from tracker.features import FEATURES, VisitorFacts
from tracker.protocol import SITE_KEY_PATTERN
from triggers.capacity import CapacityConfig
from triggers.experiment import Experiment
from triggers.fallback import Fallback
from triggers.hours import BusinessHours
from triggers.messages import Messages
from triggers.targeting import PathGlob, Targeting, first_match

SCHEMA_VERSION = 1
_GROUP_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@lru_cache(maxsize=4096)
def _group_of(groups: tuple[tuple[str, tuple[str, ...]], ...], path: str) -> str | None:
    return next((name for name, globs in groups if first_match(list(globs), path) is not None), None)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=256)
def _hosts(origins: tuple[str, ...]) -> frozenset[str]:
    return frozenset((urlsplit(origin).hostname or "").lower().removeprefix("www.") for origin in origins)


class Burst(BaseModel):
    """A burst of struggle strong enough to invite sooner: every listed feature at least its value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features_at_least: dict[str, float] = Field(
        default_factory=lambda: {"struggle_kinds": 3.0},
        min_length=1,
        json_schema_extra={"propertyNames": {"enum": list(FEATURES)}},
        description="e.g. struggle_kinds 3: three kinds of struggle signal (docs/scoring.md); recency-weighted "
        "features halve every 2 minutes, 0.75 is about one event just now",
    )
    sustain_s: float = Field(default=0.0, ge=0.0, le=600.0, description="sustain time when the burst is present")

    @field_validator("features_at_least")
    @classmethod
    def _known_features(cls, thresholds: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(thresholds) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown features {unknown}; known: {', '.join(FEATURES)}")
        return thresholds

    def present(self, features: dict[str, float]) -> bool:
        return all(features.get(name, 0.0) >= minimum for name, minimum in self.features_at_least.items())


class Timing(BaseModel):
    """Engagement and evidence needed before an invitation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_dwell_s: float = Field(
        default=10.0,
        ge=0.0,
        le=3600.0,
        description="seconds on site; the burst never shortens it; 10 was chosen in the proving ground "
        "(docs/configuration.md)",
    )
    min_pages: int = Field(default=1, ge=0, le=100)
    score_threshold: float = Field(
        default=0.25,
        gt=0.0,
        le=1.0,
        description="the calibrated acceptance an invitation needs; 0.25 was chosen in the proving ground "
        "(docs/scoring.md)",
    )
    sustain_s: float = Field(
        default=1.0, ge=0.0, le=600.0, description="how long the score must stay above the threshold"
    )
    burst: Burst | None = Field(default_factory=Burst, description="null: no shortcut")
    expires_in_s: int = Field(
        default=60, ge=5, le=3600, description="how long the widget shows an unanswered invitation"
    )

    @model_validator(mode="after")
    def _burst_shortens(self) -> Timing:
        if self.burst is not None and self.burst.sustain_s > self.sustain_s:
            raise ValueError("burst.sustain_s must not be longer than sustain_s: a burst only shortens it")
        return self


class Respect(BaseModel):
    """The visitor's wishes and the site's caps. Open chats and opt-outs always block."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_per_session: int = Field(default=1, ge=0, le=20)
    max_per_day: int = Field(default=2, ge=0, le=50, description="per visitor per UTC day, across sessions")
    dismiss_cooldown_s: int = Field(default=86_400, ge=0, description="after the visitor dismissed an invitation")
    min_gap_s: int = Field(default=600, ge=0, description="between two invitations to the same visitor")
    honour_dnt: bool = Field(default=True, description="no invitation when the browser sends Do Not Track")
    honour_gpc: bool = Field(default=True, description="no invitation when the browser sends Global Privacy Control")


class SiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(pattern=SITE_KEY_PATTERN, description="public site key")
    version: int = Field(default=1, ge=1, description="revision of this document; decisions record it")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) whose pages may send events; '*' allows any.",
    )
    targeting: Targeting = Field(default_factory=Targeting)
    timing: Timing = Field(default_factory=Timing)
    respect: Respect = Field(default_factory=Respect)
    hours: BusinessHours | None = Field(default=None, description="null: a person may answer at any hour")
    capacity: CapacityConfig = Field(default_factory=CapacityConfig)
    fallback: Fallback = Field(default_factory=Fallback)
    messages: Messages = Field(default_factory=Messages)
    experiment: Experiment = Field(default_factory=Experiment)
    page_groups: dict[str, list[PathGlob]] = Field(
        default_factory=dict,
        max_length=50,
        description='named groups of pages, e.g. {"checkout": ["/cart", "/checkout/**"]}; the first '
        "group with a matching glob names a page for the model (tracker/context.py) and the reports; pages "
        "in no group are known by their path template",
    )

    @field_validator("page_groups")
    @classmethod
    def _group_names(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in groups:
            if not _GROUP_NAME.match(name):
                raise ValueError(f"page group name {name!r}: use 1 to 32 of letters, digits, '_' and '-'")
        return groups

    def page_group(self, path: str | None) -> str | None:
        """The first named group whose globs match ``path``, or None."""
        if path is None or not self.page_groups:
            return None
        return _group_of(tuple((name, tuple(globs)) for name, globs in self.page_groups.items()), path)

    def context(self, facts: VisitorFacts, now_ms: int) -> dict[str, float]:
        """The visitor's context features (``tracker.context``) under this site's groups, zone and hosts."""
        zone = _zone(self.hours.timezone) if self.hours is not None else None
        return context_features(facts, self.page_group(facts.path), now_ms, zone, self.own_hosts())

    def own_hosts(self) -> frozenset[str]:
        """The hosts of the site's own pages (from ``allowed_origins``): a referrer from them is internal."""
        return _hosts(tuple(self.allowed_origins))

    def allows_origin(self, origin: str | None) -> bool:
        """Requests without an Origin header (server-side, curl) are not browser pages and pass."""
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/") in self.allowed_origins
