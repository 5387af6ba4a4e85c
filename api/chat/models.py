"""Typed chat: the chat record, its state machine, and the WebSocket frames (msgspec structs).

A chat's record is one value in the Store (``chat:<id>``) and every change to it is a
compare-and-set of the whole record against the bytes that were read: two workers (or an
agent accepting at the instant an offer times out) cannot both win, and no field written by
one is lost by another. Which changes of ``state`` are allowed is ``TRANSITIONS``; a change
that is not listed is refused before it reaches the Store.

``ended_by`` and ``end_reason`` say truly who ended a chat and how (docs/agents.md):

| state | ended_by | end_reason | what happened |
|---|---|---|---|
| ended | visitor | closed | the visitor ended it (End chat, or the panel's x, confirmed) |
| ended | visitor | left | the visitor left the site and did not come back within ``visitor_grace_s`` |
| ended | visitor | left_message | waiting for a busy team, the visitor left a message instead |
| ended | agent | ended | the agent ended it |
| ended | agent | agent_left | the agent's console went away and nobody else could take the chat over |
| missed | nobody | unanswered | no agent ever took it (all gone, or the queue wait ran out) |
| ended | admin | visitor_data_deleted | an admin deleted the visitor's data while the chat was live (and the chat) |

A chat the visitor closed or left before anyone took it is ``ended`` by the visitor with no ``started_ms``.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

State = Literal["waiting", "offered", "active", "ended", "missed"]
EndedBy = Literal["visitor", "agent", "nobody", "admin"]
EndReason = Literal["closed", "left", "left_message", "ended", "agent_left", "unanswered", "visitor_data_deleted"]
DATA_DELETED: EndReason = "visitor_data_deleted"
FINAL_STATES: frozenset[str] = frozenset({"ended", "missed"})

TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({"waiting"}),
    "waiting": frozenset({"waiting", "offered", "ended", "missed"}),
    "offered": frozenset({"offered", "waiting", "active", "ended", "missed"}),
    "active": frozenset({"active", "waiting", "ended"}),
    "ended": frozenset({"ended"}),  # a verdict or a rating after the end: the state stays
    "missed": frozenset({"missed"}),
}
"""From a state (None: no chat yet) to the states it may become. Staying is how fields change."""


class IllegalTransition(ValueError):
    def __init__(self, old: str | None, new: str) -> None:
        super().__init__(f"a chat cannot go from {old!r} to {new!r}")
        self.old, self.new = old, new


def check_transition(old: str | None, new: str) -> None:
    if new not in TRANSITIONS.get(old, frozenset()):
        raise IllegalTransition(old, new)


class Outcome(msgspec.Struct, kw_only=True, omit_defaults=False):
    stuck: bool
    resolved: bool
    agent: str
    ts: int


class ChatRecord(msgspec.Struct, kw_only=True):
    """One chat. ``agent`` holds the offer while ``offered`` and the chat while ``active`` (and keeps the
    last agent who had it once the chat is over); ``agents`` is everyone who took it, in order."""

    id: str
    site: str
    visitor: str
    session: str | None = None
    skill: str | None = None
    state: State = "waiting"
    agent: str | None = None
    agent_name: str | None = None
    offered_to: str | None = None
    agents: list[str] = msgspec.field(default_factory=list)
    created_ms: int = 0
    started_ms: int | None = None
    ended_ms: int | None = None
    ended_by: EndedBy | None = None
    end_reason: EndReason | None = None
    context: dict[str, Any] = msgspec.field(default_factory=dict)
    outcome: Outcome | None = None
    csat: int | None = None
    fallback: dict[str, Any] | None = None
    rev: int = 0
    """Grows by one with every write: the record's version, for readers and for the listing copy."""

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def lock(self) -> str:
        """The state as routing compares it: ``waiting``, ``offered:<agent>``, ``active:<agent>``, ..."""
        return f"{self.state}:{self.agent}" if self.state in ("offered", "active") else self.state

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ChatRecord)


def encode_chat(chat: ChatRecord) -> str:
    return _encoder.encode(chat).decode()


def decode_chat(raw: str | bytes) -> ChatRecord:
    return _decoder.decode(raw)


def chat_from_dict(document: dict[str, Any]) -> ChatRecord:
    return msgspec.convert(document, ChatRecord)


# -- WebSocket frames -------------------------------------------------------------------------------
# What the visitor's panel and the agent's console send (docs/protocol.md). A frame of an unknown
# type, or with a field of the wrong type, is ignored, as before.


class Frame(msgspec.Struct, tag_field="type", forbid_unknown_fields=False):
    pass


class Say(Frame, tag="msg"):
    text: str
    cid: str | None = None
    chat: str = ""


class Typing(Frame, tag="typing"):
    chat: str = ""


class End(Frame, tag="end"):
    chat: str = ""
    stuck: bool | None = None
    resolved: bool = False


class Rate(Frame, tag="rate"):
    score: int


class Status(Frame, tag="status"):
    status: Literal["online", "away"]


class Accept(Frame, tag="accept"):
    chat: str


class Decline(Frame, tag="decline"):
    chat: str


class VerdictFrame(Frame, tag="verdict"):
    chat: str
    stuck: bool | None = None
    resolved: bool = False


class Transfer(Frame, tag="transfer"):
    """The agent hands an active chat to a colleague who is online with a free slot."""

    chat: str
    to: str


class Colleagues(Frame, tag="colleagues"):
    """The console asks who it could transfer a chat to."""


class ContextAsk(Frame, tag="context"):
    """The console asks for the visitor's context as it is now; ``past`` adds the visitor's earlier chats."""

    chat: str
    past: bool = False


VisitorFrame = Say | Typing | End | Rate
AgentFrame = Say | Typing | End | Status | Accept | Decline | VerdictFrame | Transfer | Colleagues | ContextAsk


def visitor_frame(raw: Any) -> VisitorFrame | None:
    try:
        return msgspec.convert(raw, VisitorFrame)  # type: ignore[no-any-return]
    except msgspec.ValidationError:
        return None


def agent_frame(raw: Any) -> AgentFrame | None:
    try:
        return msgspec.convert(raw, AgentFrame)  # type: ignore[no-any-return]
    except msgspec.ValidationError:
        return None


class Out(msgspec.Struct, tag_field="type", omit_defaults=True):
    """A frame to a panel or a console. Fields with a default are left out while they have it."""


class StateFrame(Out, tag="state"):
    """A chat's state as the visitor's panel (and, with ``chat``, the console) is told it."""

    state: str
    agent_name: str | None = None
    fallback: dict[str, Any] | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    chat: str | None = None
    expected_wait_s: int | None = None
    """While waiting for a busy team: about how long until a person answers (api/chat/service.py, the queue)."""
    wait_limit_s: int | None = None
    """While waiting: how much longer the visitor can be kept waiting before the offline form."""
    leave_message: bool | None = None
    """While waiting: whether the visitor may leave a message instead (the site's leave-a-message form)."""


class PresenceFrame(Out, tag="visitor"):
    """To the console: whether any tab of the visitor has the chat open now."""

    chat: str
    online: bool


class MessageFrame(Out, tag="msg"):
    id: int
    from_: str = msgspec.field(name="from")
    text: str = ""
    ts: int = 0
    name: str | None = None
    cid: str | None = None
    chat: str | None = None


class AckFrame(Out, tag="ack"):
    cid: str | None
    id: int | None
    chat: str | None = None


class TypingFrame(Out, tag="typing"):
    chat: str | None = None


class RatedFrame(Out, tag="rated"):
    ok: bool


class ErrorFrame(Out, tag="error"):
    error: str
    message: str | None = None
    chat: str | None = None


class HelloFrame(Out, tag="hello"):
    agent: dict[str, Any]
    status: str
    canned: list[Any]


class StatusFrame(Out, tag="status"):
    status: str


class ChatFrame(Out, tag="chat"):
    """To the console: the whole chat record, when it opens (accepted, or on a reconnect)."""

    chat: dict[str, Any]


class OfferFrame(Out, tag="offer"):
    chat: dict[str, Any]
    expires_in: float | None = None


class WithdrawnFrame(Out, tag="withdrawn"):
    chat: str


class EndedFrame(Out, tag="ended"):
    """To the console: a chat it had (or was offered) ended, and why (``end_reason``); on
    ``visitor_data_deleted`` the chat and its messages are gone, so the console drops them too."""

    chat: str
    reason: str | None = None


class ClosedFrame(Out, tag="closed"):
    chat: str


class OfferGoneFrame(Out, tag="offer_gone"):
    chat: str


class LoadFrame(Out, tag="load"):
    """To the console: the chats (and offers) this agent holds, of how many they may hold."""

    active: int
    max: int


class ContextFrame(Out, tag="context"):
    """To the console: the visitor's live context (who they are when the site identified them, page now, time
    on site, journey, signals) and, when asked, their earlier chats, newest first."""

    chat: str
    context: dict[str, Any]
    past: list[dict[str, Any]] | None = None


class CannedFrame(Out, tag="canned"):
    """To the console: the site's canned responses, whenever an admin changes them."""

    canned: list[Any]


class SiteFrame(Out, tag="site"):
    """To the console: whether the site's hours are open now, so an agent knows why nothing arrives."""

    open: bool
    opening_hours: str | None = None
    next_opening: str | None = None


class ColleaguesFrame(Out, tag="colleagues"):
    """To the console: the other agents signed in, with their presence and free slots."""

    agents: list[dict[str, Any]]


class TransferFailedFrame(Out, tag="transfer_failed"):
    """To the console: the transfer did not happen (``reason``: unknown_agent, same_agent, disabled, offline,
    full, not_your_chat), and the chat stays with this agent."""

    chat: str
    reason: str


_frames = msgspec.json.Encoder()


def encode_frame(frame: Out) -> str:
    return _frames.encode(frame).decode()


def frame_dict(frame: Out) -> dict[str, Any]:
    return msgspec.to_builtins(frame)  # type: ignore[no-any-return]
