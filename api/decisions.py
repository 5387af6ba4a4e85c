"""The seam between collect and the trigger engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tracker.features import VisitorFacts
from triggers import SiteConfig


class DecisionPolicy(Protocol):
    def decide(self, config: SiteConfig, visitor: str, features: Mapping[str, float],
               facts: VisitorFacts, now_ms: int) -> dict[str, Any] | None:
        """The wire decision for the collect response, or None for no invitation."""
        ...


class NeverInvitePlaceholder:
    """Placeholder until the trigger engine is wired in: it never invites."""

    def decide(self, config: SiteConfig, visitor: str, features: Mapping[str, float],
               facts: VisitorFacts, now_ms: int) -> dict[str, Any] | None:
        return None
