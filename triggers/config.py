"""A site's configuration document: one validated pydantic model per site.

Every section has safe defaults (no invitation before 20 s, one per session, a
day's cooldown after a "no", nothing offered when nobody can answer), so
``SiteConfig(site="demo")`` is a complete, conservative policy and a marketer's
document only states what differs. Unknown keys are rejected with their name,
because a misspelt option that is silently ignored is a policy nobody chose.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker.features import FEATURES
from triggers.capacity import CapacityConfig
from triggers.experiment import Experiment
from triggers.fallback import Fallback
from triggers.hours import BusinessHours
from triggers.messages import Messages
from triggers.targeting import Targeting

SCHEMA_VERSION = 1


class Burst(BaseModel):
    """A burst of struggle strong enough to invite sooner: every listed feature at least its value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features_at_least: dict[str, float] = Field(
        default_factory=lambda: {"recent_form_errors": 1.5, "recent_rage_clicks": 0.75},
        min_length=1,
        description="recency-weighted features halve every 2 minutes; 0.75 is about one event just now",
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
        default=20.0, ge=0.0, le=3600.0, description="seconds on site; the burst never shortens it"
    )
    min_pages: int = Field(default=1, ge=0, le=100)
    score_threshold: float = Field(default=0.6, gt=0.0, le=1.0)
    sustain_s: float = Field(
        default=3.0, ge=0.0, le=600.0, description="how long the score must stay above the threshold"
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

    site: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="public site key")
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

    def allows_origin(self, origin: str | None) -> bool:
        """Requests without an Origin header (server-side, curl) are not browser pages and pass."""
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/") in self.allowed_origins
