"""The decision's inputs and output: everything ``decide`` reads, everything it answers.

Both are plain validated data so that a decision can be logged, replayed, and
written as a golden JSON file a marketer can read. The caller (collect, replay,
the dashboard) owns the clock, the score, the capacity snapshot, the pacing pool
and the remembered ``above_threshold_since_ms``; ``decide`` owns nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from tracker.features import VisitorFacts
from triggers.capacity import CapacitySnapshot, Rival
from triggers.config import SiteConfig
from triggers.experiment import Group
from triggers.fallback import BotMenu
from triggers.reasons import RANK

Mode = Literal["agent", "bot", "offline"]
Person = Literal["available", "busy", "nobody", "closed"]
"""Whether a person can answer: one is free; every agent online is busy; nobody is online; the site is closed.
The visitor is told which, in words that fit (a bot card says "everyone is busy", not "closed")."""


def to_millis(value: Any) -> Any:
    """Epoch milliseconds, also from an ISO 8601 time with an offset (readable golden files, dashboards)."""
    if isinstance(value, str):
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(f"time {value!r} needs an offset, e.g. 'Z' or '+02:00'")
        return round(moment.timestamp() * 1000)
    return value


Millis = Annotated[int, BeforeValidator(to_millis)]

_NOTHING_KNOWN: dict[str, Any] = (
    {f.name: {"utm": {}, "custom_events": {}, "extra": {}}.get(f.name) for f in fields(VisitorFacts)}
    | {"session": "", "returning": False, "opted_out": False, "in_chat": False}
    | {
        name: 0
        for name in (
            "invites_shown_session",
            "invites_accepted_session",
            "invites_dismissed_session",
            "invites_shown_today",
        )
    }
)


class Privacy(BaseModel):
    """Signals the browser sent with the request (headers or the tracker's payload)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dnt: bool = Field(default=False, description="Do Not Track: DNT: 1")
    gpc: bool = Field(default=False, description="Global Privacy Control: Sec-GPC: 1")


class DecisionContext(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    config: SiteConfig
    visitor: str = Field(description="visitor id: the experiment groups hash it")
    facts: VisitorFacts = Field(description="from tracker.features.describe; missing keys mean nothing known")
    features: dict[str, float] = Field(default_factory=dict, description="from tracker.features.extract")
    score: float = Field(ge=0.0, le=1.0, description="the model's probability that a chat would help")
    explanation: list[str] = Field(default_factory=list, description="the model's strongest signals, first first")
    acceptance: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="probability the invitation is accepted; defaults to the score",
    )
    now_ms: Millis = Field(ge=0)
    capacity: CapacitySnapshot = Field(default_factory=CapacitySnapshot)
    rivals: list[Rival] = Field(
        default_factory=list,
        description="other candidates in the site's pacing pool; only those scoring at least as high matter",
    )
    privacy: Privacy = Field(default_factory=Privacy)
    in_chat: bool = False
    above_threshold_since_ms: Millis | None = Field(
        default=None,
        description="when the score last rose to the threshold in this session (Decision.evidence_since_ms)",
    )

    @field_validator("facts", mode="before")
    @classmethod
    def _fill_facts(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return _NOTHING_KNOWN | {key: to_millis(v) if key.endswith("_ms") else v for key, v in value.items()}
        return value

    @property
    def expected_acceptance(self) -> float:
        return self.score if self.acceptance is None else self.acceptance


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["invite", "none"]
    mode: Mode | None = None
    invite: str | None = Field(default=None, pattern=r"^i_[A-Za-z0-9_-]{6,62}$")
    message: str | None = None
    variant: str | None = None
    expires_in: int | None = None
    score: float
    reasons: list[str] = Field(description="policy codes in precedence order, then the strongest signals")
    group: Group
    propensity: float = Field(ge=0.0, le=1.0, description="probability of this action over the group draw")
    expected_wait_s: int | None = None
    person: Person | None = Field(default=None, description="an invitation's: whether a person can answer now")
    opening_hours: str | None = None
    next_opening: str | None = Field(default=None, description="ISO 8601 local time with offset")
    menu: BotMenu | None = None
    leave_message: bool = False
    pacing_candidate: bool = Field(
        default=False, description="eligible but waiting for agent capacity: keep in the pacing pool"
    )
    evidence_since_ms: int | None = Field(
        default=None, description="store it; pass it back as above_threshold_since_ms"
    )
    config_version: int = 1
    priority: float | None = Field(
        default=None, description="a pacing candidate's rank for the next free slot (capacity.ranking)"
    )
    recheck_in_ms: int | None = Field(
        default=None,
        description="no invitation yet, only because the evidence is not yet sustained: ask "
        "again after this many ms (the collect response's recheck_in_ms)",
    )

    @property
    def codes(self) -> list[str]:
        """Only the policy's own reason codes, without the model's signal names."""
        return [reason for reason in self.reasons if reason in RANK]

    @property
    def primary_reason(self) -> str | None:
        codes = self.codes
        return codes[0] if codes else None

    def to_wire(self) -> dict[str, Any] | None:
        """The ``decision`` object of the collect response (design.md), or None for no invitation."""
        if self.action != "invite":
            return None
        wire = self.model_dump(
            include={
                "action",
                "invite",
                "mode",
                "message",
                "variant",
                "expires_in",
                "score",
                "reasons",
                "expected_wait_s",
                "person",
                "opening_hours",
                "next_opening",
                "menu",
                "leave_message",
            },
            exclude_none=True,
            mode="json",
        )
        if not self.leave_message:
            wire.pop("leave_message", None)
        return wire
