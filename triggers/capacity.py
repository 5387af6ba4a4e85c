"""Who can answer right now, and which waiting visitor gets the next free slot.

Capacity is counted in *expected* chats: an agent invitation that was shown and
not yet answered holds back its probability of being accepted, and a new
invitation needs its own. Only agent invitations hold capacity
(``reserves_capacity``): a bot or offline card promises no person. Invitations
are made only while the expected accepted chats fit in the free slots, so agents
are never promised more than they can take. When slots are
scarce the visitors with the highest scores go first (capacity-aware pacing): the
caller keeps a short-lived pool of eligible candidates and passes the rivals in.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_EPSILON = 1e-9


class CapacityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_chats_per_agent: int = Field(default=3, ge=1, le=50)
    max_chats_per_new_agent: int = Field(default=1, ge=1, le=50)
    reservation: Literal["expected", "full"] = Field(
        default="expected",
        description="'expected': a shown, unanswered invitation holds its acceptance probability of a slot; "
        "'full': it holds a whole slot",
    )
    average_chat_s: int = Field(default=300, ge=10, description="for the expected-wait estimate")
    ranking: Literal["benefit", "score", "first_come"] = Field(
        default="benefit",
        description="who gets scarce slots first: 'benefit' (score, how hard they struggle now, about to "
        "leave), 'score' alone, or 'first_come' (whoever the engine decides on first)",
    )


class Agent(BaseModel):
    """An agent who is online now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = ""
    new: bool = False
    active_chats: int = Field(default=0, ge=0)
    max_chats: int | None = Field(default=None, ge=0, description="overrides the site default for this agent")


class CapacitySnapshot(BaseModel):
    """Agent presence and load as the caller read it from the store for this decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: list[Agent] = Field(default_factory=list)
    pending_invites: list[float] = Field(
        default_factory=list, description="expected acceptance of each shown, unanswered agent invitation"
    )


class Rival(BaseModel):
    """Another eligible visitor of the same site waiting in the pacing pool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    visitor: str
    score: float = Field(ge=0.0, le=1.0)
    acceptance: float | None = Field(default=None, ge=0.0, le=1.0, description="defaults to the score")
    priority: float | None = Field(default=None, ge=0.0, description="expected benefit; defaults to the score")

    @property
    def rank(self) -> float:
        return self.score if self.priority is None else self.priority


def reserves_capacity(mode: str | None) -> bool:
    """Whether an invitation in ``mode`` holds back a share of a slot until it is answered or expires.

    Only an agent invitation promises a person. A bot or offline card, shown while nobody could answer,
    asks nothing of the agents: had it reserved, the ignored cards of a quiet hour would keep the first
    agent to sign in from taking the next struggler."""
    return mode == "agent"


def agent_limit(config: CapacityConfig, agent: Agent) -> int:
    if agent.max_chats is not None:
        return agent.max_chats
    return config.max_chats_per_new_agent if agent.new else config.max_chats_per_agent


def total_slots(config: CapacityConfig, snapshot: CapacitySnapshot) -> int:
    return sum(agent_limit(config, agent) for agent in snapshot.agents)


def free_slots(config: CapacityConfig, snapshot: CapacitySnapshot) -> int:
    return sum(max(0, agent_limit(config, agent) - agent.active_chats) for agent in snapshot.agents)


def need(config: CapacityConfig, acceptance: float) -> float:
    """The share of a slot one invitation holds."""
    return acceptance if config.reservation == "expected" else 1.0


def room(config: CapacityConfig, snapshot: CapacitySnapshot) -> float:
    """Free slots left after the shown, unanswered invitations have taken their share."""
    reserved = sum(need(config, p) for p in snapshot.pending_invites)
    return free_slots(config, snapshot) - reserved


def fits(config: CapacityConfig, free_room: float, acceptance: float) -> bool:
    return need(config, acceptance) <= free_room + _EPSILON


EXIT_URGENCY_MS = 30_000
"""An exit intent this recent makes a visitor about to leave: their chance to be helped is now."""


def benefit(score: float, recent_struggle: float, exit_intent_age_ms: int | None) -> float:
    """Expected benefit of inviting now, for ranking scarce slots (``ranking: benefit``).

    ``score`` (will they take the chat) times how hard they struggle right now (``1 + log1p`` of the
    recency-weighted struggle: a fresh burst counts, a struggle long past fades) times 1.5 when they are
    about to leave (an exit intent in the last 30 s): helping them later is not an option."""
    leaving = exit_intent_age_ms is not None and 0 <= exit_intent_age_ms <= EXIT_URGENCY_MS
    return score * (1.0 + math.log1p(max(0.0, recent_struggle))) * (1.5 if leaving else 1.0)


def ranks_within(
    config: CapacityConfig,
    free_room: float,
    visitor: str,
    priority: float,
    acceptance: float,
    rivals: list[Rival],
) -> bool:
    """Whether this visitor still fits once every rival ranked above them has taken their share.

    Ranking is by ``priority`` (the expected benefit, or the score: ``config.ranking``), highest first,
    ties broken by visitor id so that two workers looking at the same pool agree on the order. With
    ``first_come`` nobody waits for a rival: whoever is decided on while there is room gets it.
    """
    if config.ranking == "first_come":
        return need(config, acceptance) <= free_room + _EPSILON
    ahead = sum(
        need(config, rival.score if rival.acceptance is None else rival.acceptance)
        for rival in rivals
        if rival.visitor != visitor and (-rival.rank, rival.visitor) < (-priority, visitor)
    )
    return ahead + need(config, acceptance) <= free_room + _EPSILON


def expected_wait_s(config: CapacityConfig, snapshot: CapacitySnapshot, acceptance: float) -> int | None:
    """A rough wait for a person: one slot frees every ``average_chat_s / slots`` seconds.

    None when nobody is online (there is no wait to promise, only opening hours).
    """
    slots = total_slots(config, snapshot)
    if slots == 0:
        return None
    short = need(config, acceptance) - room(config, snapshot)
    if short <= _EPSILON:
        return 0
    return math.ceil(math.ceil(short) * config.average_chat_s / slots)
