"""The decision policy: whether, when and how to invite a visitor.

``decide(DecisionContext) -> Decision`` is the whole policy, pure; ``SiteConfig``
is the document a marketer edits; ``replay`` runs a recorded log through both.
"""

from triggers.capacity import Agent, CapacitySnapshot, Rival
from triggers.config import SiteConfig
from triggers.context import Decision, DecisionContext, Privacy
from triggers.decide import decide, evidence_since
from triggers.presets import default_config, demo_config
from triggers.reasons import REASONS
from triggers.replay import ReplayOptions, ReplayProgress, replay
from triggers.replay_report import ReplayReport
from triggers.unanswered import Unanswered, unanswered

__all__ = [
    "REASONS",
    "Agent",
    "CapacitySnapshot",
    "Decision",
    "DecisionContext",
    "Privacy",
    "ReplayOptions",
    "ReplayProgress",
    "ReplayReport",
    "Rival",
    "SiteConfig",
    "Unanswered",
    "decide",
    "default_config",
    "demo_config",
    "evidence_since",
    "replay",
    "unanswered",
]
