"""What a visitor who accepted a chat is shown when no person can take it after all.

An invitation promises a person only while one is there. When every agent has
gone by the time the visitor accepts (or while they wait), or the queue wait
runs out, the chat must not hang on "Connecting you...": the visitor gets the
site's own fallback for "no capacity" (``fallback.when_no_capacity``), as
``decide`` would have offered had it known, minus anything that hands over to a
person. Outside business hours it is ``fallback.when_closed``, with the opening
hours. Pure: the config and the time in, the offer out.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from triggers.capacity import CapacitySnapshot
from triggers.config import SiteConfig
from triggers.context import Person
from triggers.fallback import BotMenu

NOBODY = "Sorry, nobody can chat right now."
APOLOGIES: dict[Person, str] = {
    "busy": "Sorry, everyone is still busy with other customers.",
    "nobody": NOBODY,
    "closed": "Sorry, we are closed right now.",
    "available": NOBODY,
}
"""What the visitor is told in the chat, by why nobody took it: the words fit (never "busy" when nobody
is signed in)."""


class Unanswered(BaseModel):
    """``mode``: ``bot`` (quick answers, no handoff), ``offline`` (the offline message) or ``none`` (the
    site suppresses fallbacks: only the apology). ``leave_message``: the leave-a-message form is offered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["bot", "offline", "none"]
    person: Person = "nobody"
    message: str
    menu: BotMenu | None = None
    leave_message: bool = False
    opening_hours: str | None = None
    next_opening: str | None = None


def unanswered(config: SiteConfig, now_ms: int, busy: bool = False) -> Unanswered:
    """``busy``: agents are online, none had a free slot (the queue wait ran out); else nobody is online."""
    fallback, hours = config.fallback, config.hours
    closed = hours is not None and not hours.is_open(now_ms)
    person: Person = "closed" if closed else "busy" if busy else "nobody"
    apology = APOLOGIES[person]
    mode = fallback.when_closed if closed else fallback.when_no_capacity
    opening = hours.next_opening(now_ms) if hours is not None and closed else None
    when = {
        "opening_hours": hours.summary() if hours is not None and closed else None,
        "next_opening": opening.isoformat() if opening is not None else None,
        "person": person,
    }
    leave = fallback.offline.leave_message
    menu = fallback.bot.for_visitor(person_available=False) if mode == "bot" else None
    if menu is not None:
        return Unanswered(mode="bot", message=apology, menu=menu, leave_message=leave, **when)
    if mode != "suppress":  # "offline", or a bot menu with nothing left once the handoff is gone
        return Unanswered(mode="offline", message=fallback.offline.message, leave_message=leave, **when)
    return Unanswered(mode="none", message=apology, leave_message=leave, **when)


def withdrawn(config: SiteConfig, capacity: CapacitySnapshot, now_ms: int) -> Unanswered | None:
    """Whether an agent invitation on show still has a person behind it: None while the site is open and
    an agent is online; otherwise what the card turns into (the same fallback ``unanswered`` gives), so
    that no visitor accepts into a void. Agents who are merely busy do not withdraw it: the invitation
    holds a share of their capacity, and the queue waits for a free slot."""
    hours = config.hours
    if capacity.agents and (hours is None or hours.is_open(now_ms)):
        return None
    return unanswered(config, now_ms)


__all__ = ["APOLOGIES", "NOBODY", "Unanswered", "unanswered", "withdrawn"]
