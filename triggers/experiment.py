"""Experiment groups: holdout (for uplift), rollout, and exploration (for learning).

One uniform draw per visitor, from a hash of (salt, site, visitor), places them:
the first ``holdout`` share is never invited; of the rest, a ``rollout`` share
gets the engine and the others do not (``outside``); of those in the rollout, an
``exploration`` share may also be invited below the score threshold, so the
model sees outcomes it would otherwise never learn from. The propensity of each
decision is the probability of its action over this draw, for unbiased learning.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from triggers.hashing import unit_hash

Group = Literal["holdout", "rollout", "explore", "outside"]
TREATED: frozenset[Group] = frozenset({"rollout", "explore"})
"""Groups the engine may invite; ``holdout`` never is, ``outside`` is outside the rollout."""


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    holdout: float = Field(default=0.10, ge=0.0, le=0.5, description="share never invited, to measure uplift")
    rollout: float = Field(default=1.0, ge=0.0, le=1.0, description="share of the others the engine may invite")
    exploration: float = Field(
        default=0.02,
        ge=0.0,
        le=0.2,
        description="share of the rollout that may be invited below the threshold",
    )
    exploration_floor: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="explore only visitors whose score is at least this share of the threshold: the "
        "outcomes near the boundary teach the model most, and a visitor who shows no struggle at all is "
        "never invited to teach it",
    )
    salt: str = Field(default="tactful", max_length=64, description="change it to reshuffle every group")

    def group(self, site: str, visitor: str) -> Group:
        draw = unit_hash("group", self.salt, site, visitor)
        if draw < self.holdout:
            return "holdout"
        within = (draw - self.holdout) / (1.0 - self.holdout)
        if within >= self.rollout:
            return "outside"
        return "explore" if within / self.rollout < self.exploration else "rollout"

    def invite_probability(self, needs_exploration: bool) -> float:
        """P(invited) over the group draw, for a visitor every other rule lets through."""
        treated = (1.0 - self.holdout) * self.rollout
        return treated * self.exploration if needs_exploration else treated
