"""A chat's life: requested, offered to agents in turn, active, ended (or missed), across workers.

A chat is one record (``api/chat/models.py``: ``ChatRecord``), kept as one value in the Store,
``chat:<id>``, and changed only by ``ChatService._change``: read, check the transition against
the state machine (``models.TRANSITIONS``), write back with a compare-and-set against the bytes
read, retry on a conflict. So an agent accepting at the instant the offer times out either gets
the chat or does not, on any worker, and a verdict written by one worker is never lost by
another's state change. A copy of the record under ``r:chat`` is the listing transcripts search.

An agent's load (``load:<agent>``: active chats plus the offer they hold) is a
counter that only grows through ``bounded_add`` up to the agent's limit: an
agent at capacity is never offered another chat, even when two workers route at
once. The console's presence heartbeat copies the load into the ``agents``
table, which every worker's decisions read (``api/availability.py``).

The routing loop for a chat runs where the visitor's WebSocket is
(``route``): it offers, waits, moves to the next agent, gives up into the offline
form, and watches both sides during the chat: a vanished agent's chat is offered
again after ``agent_grace_s``; a visitor with no tab open on the chat for
``visitor_grace_s`` has left, and the chat ends. A lease makes sure that two tabs of
one visitor do not route the same chat twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from api.chat.agents import AgentDirectory, limit_of
from api.chat.context import chat_context, visitor_context
from api.chat.models import (
    DATA_DELETED,
    ChatRecord,
    EndedBy,
    EndReason,
    LoadFrame,
    Outcome,
    SiteFrame,
    StateFrame,
    check_transition,
    decode_chat,
    encode_chat,
    frame_dict,
)
from api.chat.webhooks import Webhooks, erased_fields
from api.prometheus import CHATS
from api.settings import Settings
from api.store import ChatRecords, ExpiringTables, LabelStream, VisitorLog
from api.store.bus import ChatBus
from tracker.days import day_of
from tracker.events import chat_ops
from triggers.capacity import Agent, CapacitySnapshot, agent_limit, expected_wait_s
from triggers.config import SiteConfig
from triggers.presets import default_config
from triggers.unanswered import unanswered


class ChatStore(ChatRecords, ExpiringTables, LabelStream, VisitorLog, Protocol):
    """A chat's state and messages, the agents' tables, and what a chat tells the visitor and the learner."""


log = logging.getLogger("tactful.chat")

CHAT = "chat"
OFFER = "offer"
ACTIVE = "active"
TEXT_LIMIT = 4000
POLL_S = 0.2
FINAL = ("ended", "missed")
BUSY = "busy"
NOBODY = "nobody"
VISITORS = "visitors:"
"""An expiring table per chat: the visitor's open connections to it (tabs), renewed while open."""
QUEUE = "queue"
"""An expiring table per site: the chats waiting for a busy team, with when they started to wait and the
wait they were told; renewed by their routing loops, so a chat nobody routes drops out."""
QUEUE_TTL_MS = 5_000
QUEUE_TELL_S = 2.0
CHANGE_ATTEMPTS = 50
DELETE_ATTEMPTS = 20
"""A chat being deleted while it changes: how often the deletion retries its compare-and-set."""


def chat_channel(site: str, chat: str) -> str:
    return f"chat:{site}:{chat}"


def agent_channel(site: str, agent: str) -> str:
    return f"agent:{site}:{agent}"


def team_channel(site: str) -> str:
    """Every console of the site: changes an admin makes that agents see at once (canned responses)."""
    return f"team:{site}"


def summary(chat: dict[str, Any] | ChatRecord) -> dict[str, Any]:
    """A chat as webhooks and consoles see it: everything in the record (it holds no secrets), and what a
    helpdesk asks of an ended chat in plain fields: the agent's ``verdict`` (``stuck`` / ``not_stuck``)
    and whether it was ``resolved``, from ``outcome``; ``duration_s`` from the agent joining to the end."""
    if isinstance(chat, ChatRecord):
        chat = chat.to_dict()
    outcome = chat.get("outcome") or {}
    started, ended = chat.get("started_ms"), chat.get("ended_ms")
    return dict(chat) | {
        "verdict": None if not outcome else "stuck" if outcome.get("stuck") else "not_stuck",
        "resolved": outcome.get("resolved") if outcome else None,
        "duration_s": round((ended - started) / 1000, 3) if started is not None and ended is not None else None,
    }


def erased(chat: ChatRecord) -> dict[str, Any]:
    """A chat as webhooks see it once its visitor's data is deleted: what a receiver needs to close and delete
    its own copy of the chat (docs/integrations.md), and nothing of the visitor: no visitor or session id, no
    context, no verdict or rating, no messages."""
    return erased_fields(chat.to_dict())


@dataclass(frozen=True, slots=True)
class Verdict:
    """The agent's verdict on a chat: was the visitor stuck (a label for the learner), was it resolved."""

    stuck: bool
    resolved: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    load: int
    limit: int


class ChatService:
    def __init__(
        self,
        store: ChatStore,
        bus: ChatBus,
        agents: AgentDirectory,
        webhooks: Webhooks,
        settings: Settings,
        configs: Callable[[str], SiteConfig | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.bus = bus
        self.agents = agents
        self.webhooks = webhooks
        self.settings = settings
        self._configs = configs
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- the record and its state machine --------------------------------------------------------

    async def _read(self, site: str, chat_id: str) -> tuple[str | None, ChatRecord | None]:
        raw = await self.store.get_value(site, f"chat:{chat_id}")
        return raw, None if raw is None else decode_chat(raw)

    async def record(self, site: str, chat_id: str) -> ChatRecord | None:
        return (await self._read(site, chat_id))[1]

    async def state(self, site: str, chat_id: str) -> str | None:
        """``waiting``, ``offered:<agent>``, ``active:<agent>``, ``ended`` or ``missed`` (None: no chat)."""
        chat = await self.record(site, chat_id)
        return None if chat is None else chat.lock

    async def chat(self, site: str, chat_id: str) -> dict[str, Any] | None:
        chat = await self.record(site, chat_id)
        return None if chat is None else chat.to_dict()

    async def _change(
        self, site: str, chat_id: str, change: Callable[[ChatRecord], ChatRecord | None]
    ) -> tuple[ChatRecord, ChatRecord] | None:
        """The one way a chat changes: ``change`` gets the current record and returns the new one (or None:
        not from this state). Checked against the state machine, written with compare-and-set, retried
        when someone else wrote in between. Returns (before, after), or None if nothing changed."""
        for _ in range(CHANGE_ATTEMPTS):
            raw, chat = await self._read(site, chat_id)
            if raw is None or chat is None:
                return None
            new = change(msgspec.structs.replace(chat, agents=list(chat.agents)))
            if new is None:
                return None
            check_transition(chat.state, new.state)
            new = msgspec.structs.replace(new, rev=chat.rev + 1)
            encoded = encode_chat(new)
            if await self.store.compare_and_set(site, f"chat:{chat_id}", raw, encoded):
                await self._list(site, chat_id, new, encoded)
                return chat, new
        log.warning("chat %s: gave up after %d conflicting writes", chat_id, CHANGE_ATTEMPTS)
        return None

    async def _list(self, site: str, chat_id: str, chat: ChatRecord, encoded: str, created: bool = False) -> None:
        """The listing copy transcripts search: rewritten until it is the newest (a slower writer's copy
        that lands after a newer one is put right by whoever sees the difference). Only a new chat's listing
        is put; a changed chat's replaces it only while it is there, so a chat deleted meanwhile (the
        visitor's data) is not listed again."""
        for _ in range(5):
            if created:
                await self.store.put_record(site, CHAT, chat_id, chat.to_dict())
            elif await self.store.update_record(site, CHAT, chat_id, chat.to_dict()) is None:
                return  # deleted, or a new chat whose creator has yet to list it (and will, then reread)
            created = False
            raw = await self.store.get_value(site, f"chat:{chat_id}")
            if raw is None or raw == encoded:
                return
            encoded, chat = raw, decode_chat(raw)

    async def _put_beside(self, site: str, kind: str, chat_id: str, document: dict[str, Any]) -> None:
        """A record kept beside a chat (its offer, who has it), taken back if the chat was deleted meanwhile:
        the deletion drops the chat's state before these (``erase``), so either it drops this
        record after it was written, or this sees the state gone."""
        await self.store.put_record(site, kind, chat_id, document)
        if await self.store.get_value(site, f"chat:{chat_id}") is None:
            await self.store.drop_record(site, kind, chat_id)

    async def _tell(self, site: str, chat_id: str, event: dict[str, Any]) -> None:
        await self.bus.publish(chat_channel(site, chat_id), event)

    async def queued(self, site: str, chat_id: str) -> dict[str, Any]:
        """A waiting chat's place in the queue as its visitor was last told it (for a tab that opens now)."""
        entry = (await self.store.read_expiring(site, QUEUE, self.now_ms())).get(chat_id)
        if entry is None:
            return {}
        config = self._config(site)
        return {
            "expected_wait_s": int(entry["wait_s"]),
            "wait_limit_s": max(0, (int(entry["until_ms"]) - self.now_ms()) // 1000),
            "leave_message": config.fallback.offline.leave_message,
        }

    async def _tell_state(self, chat: ChatRecord) -> None:
        frame = StateFrame(
            state=chat.state,
            agent_name=chat.agent_name if chat.state == "active" else None,
            fallback=chat.fallback,
            ended_by=chat.ended_by,
            end_reason=chat.end_reason,
        )
        await self._tell(chat.site, chat.id, frame_dict(frame))

    async def _system(self, site: str, chat_id: str, text: str) -> None:
        await self.say(site, chat_id, "system", text, None, None)

    async def _count(self, site: str, counts: dict[str, int]) -> None:
        """The chat figures of the dashboard (docs/analytics.md): daily counters, by the day it happened."""
        await self.store.add_counters(site, day_of(self.now_ms()), counts)

    def _config(self, site: str) -> SiteConfig:
        return self._configs(site) or default_config(site)

    async def signed_in(self, site: str) -> bool:
        """Whether any agent's console is open (online or away): someone who could still take the chat."""
        return bool(await self.store.read_expiring(site, "agents", self.now_ms()))

    # -- opening -----------------------------------------------------------------------------

    async def open_chat(self, site: str, visitor: str, invite: str, skill: str | None = None) -> dict[str, Any] | None:
        """The visitor's chat for ``invite``: created on first call, or None if the invite is not theirs."""
        existing = await self.record(site, invite)
        if existing is not None:
            return existing.to_dict() if existing.visitor == visitor else None
        now_ms = self.now_ms()
        invites = await self.store.read_expiring(site, "invites", now_ms)
        info = invites.get(invite)
        if info is None or info.get("visitor") != visitor:
            return None
        context = await chat_context(self.store, site, visitor, info, now_ms, self._config(site).own_hosts())
        chat = ChatRecord(
            id=invite,
            site=site,
            visitor=visitor,
            session=info.get("session"),
            skill=skill,
            created_ms=now_ms,
            context=context,
            rev=1,
        )
        check_transition(None, chat.state)
        encoded = encode_chat(chat)
        if not await self.store.compare_and_set(site, f"chat:{invite}", None, encoded):
            created = await self.record(site, invite)  # another tab of this visitor created it a moment ago
            return created.to_dict() if created is not None and created.visitor == visitor else None
        await self._list(site, invite, chat, encoded, created=True)
        if invite not in await self.store.read_expiring(site, "invites", now_ms):
            # The visitor's data was deleted meanwhile (the deletion drops their invitations before it looks
            # for their chats): this chat may have been listed too late for it to see, so it goes here.
            await self.erase(site, invite)
            return None
        if chat.session:
            await self.store.apply_ops(site, visitor, chat.session, chat_ops(now_ms, True))
        await self._emit(site, "chat.requested", chat)
        await self._count(site, {"chats_requested": 1})
        CHATS.labels("requested").inc()
        if not await self.signed_in(site):
            # Every agent left after the invitation was made: the visitor gets the site's fallback now,
            # not a "Connecting you..." that nobody will answer.
            await self._unanswered(site, invite)
        return await self.chat(site, invite) or chat.to_dict()

    # -- the visitor's connections ---------------------------------------------------------------

    def visitor_connection(self) -> str:
        return uuid.uuid4().hex

    async def visitor_here(self, site: str, chat_id: str, connection: str) -> None:
        """A tab of the visitor has the chat open (renewed while it does)."""
        expires_ms = self.now_ms() + int(self.settings.agent_presence_ttl_s * 1000)
        await self.store.put_expiring(site, VISITORS + chat_id, connection, {}, expires_ms)

    async def visitor_away(self, site: str, chat_id: str, connection: str) -> bool:
        """That tab closed (or moved to another page). Returns whether another tab still has the chat."""
        await self.store.drop_expiring(site, VISITORS + chat_id, connection)
        return await self.visitor_online(site, chat_id)

    async def visitor_online(self, site: str, chat_id: str) -> bool:
        return bool(await self.store.read_expiring(site, VISITORS + chat_id, self.now_ms()))

    # -- routing (runs where the visitor's socket is) ------------------------------------------

    async def candidates(self, site: str, skill: str | None, exclude: set[str]) -> list[Candidate]:
        """Online agents with a free slot, least loaded first; with ``skill``, those who have it if any do."""
        return await self._free(site, await self.store.read_expiring(site, "agents", self.now_ms()), skill, exclude)

    async def _free(
        self, site: str, present: dict[str, dict[str, Any]], skill: str | None, exclude: set[str]
    ) -> list[Candidate]:
        free: list[tuple[Candidate, bool]] = []
        for agent_id, presence in present.items():
            if presence.get("status") != "online" or agent_id in exclude:
                continue
            limit = int(presence.get("max_chats") or 1)
            load = await self.store.bounded_add(site, f"load:{agent_id}", 0) or 0
            if load < limit:
                free.append((Candidate(agent_id, load, limit), skill in (presence.get("skills") or [])))
        skilled = [candidate for candidate, has_skill in free if has_skill]
        pool = skilled if skill and skilled else [candidate for candidate, _ in free]
        return sorted(pool, key=lambda c: (c.load / c.limit, c.load, c.id))

    async def route(self, site: str, chat_id: str) -> str | None:
        """Drive the chat until it is ended or missed (or the caller cancels). Returns the final state."""
        chat = await self.record(site, chat_id)
        skill = chat.skill if chat else None
        tried: set[str] = set()
        queue_deadline = self._clock() + self.settings.chat_queue_wait_s
        nobody_since: float | None = None
        queue = _Queue(self, site, chat_id, chat.created_ms if chat else self.now_ms())
        watch = _VisitorWatch(self, site, chat_id)
        while True:
            state = await self.state(site, chat_id)
            if state is None or state in FINAL:
                return state
            if await watch.left():
                await self.end(site, chat_id, reason="left")
            elif state.startswith("offered:"):
                await self._await_offer(site, chat_id, state.split(":", 1)[1], watch)
            elif state.startswith("active:"):
                agent = state.split(":", 1)[1]
                if await self._watch_agent(site, chat_id, agent, watch):
                    tried = {agent}
                    queue_deadline = self._clock() + self.settings.chat_queue_wait_s
                    nobody_since = None
                    queue = _Queue(self, site, chat_id, self.now_ms())
            elif (offered := await self._offer_next(site, chat_id, skill, tried)) is not True:
                # Busy agents may free a slot within the queue wait: the visitor is told about how long it
                # takes, and how long they can be kept waiting. When every console has closed, the grace a
                # reconnecting console has is all the visitor waits.
                now = self._clock()
                busy = offered == BUSY
                nobody_since = None if busy else nobody_since or now
                if busy:
                    await queue.tell(queue_deadline - now)
                if now >= queue_deadline or (
                    nobody_since is not None and now - nobody_since >= self.settings.agent_grace_s
                ):
                    await queue.leave()
                    await self._unanswered(site, chat_id, busy=busy)
                else:
                    await asyncio.sleep(POLL_S)
            else:
                await queue.leave()

    async def _offer_next(self, site: str, chat_id: str, skill: str | None, tried: set[str]) -> bool | str:
        """True once an offer went out (or the chat moved on); else ``BUSY`` (agents are signed in, none has a
        free slot) or ``NOBODY`` (no console is open)."""
        present = await self.store.read_expiring(site, "agents", self.now_ms())
        for candidate in await self._free(site, present, skill, tried):
            if await self.store.bounded_add(site, f"load:{candidate.id}", 1, candidate.limit) is None:
                continue  # someone else took the last slot a moment ago
            changed = await self._change(site, chat_id, _offer_to(candidate.id))
            if changed is None:
                await self._release(site, candidate.id)
                return True  # the chat moved on (ended by the visitor): the loop rereads its state
            tried.add(candidate.id)
            deadline_ms = self.now_ms() + int(self.settings.agent_offer_timeout_s * 1000)
            await self._put_beside(site, OFFER, chat_id, {"agent": candidate.id, "deadline_ms": deadline_ms})
            await self.bus.publish(
                agent_channel(site, candidate.id),
                {"type": "offer", "chat": summary(changed[1]), "expires_in": self.settings.agent_offer_timeout_s},
            )
            return True
        return BUSY if present else NOBODY

    async def _await_offer(self, site: str, chat_id: str, agent: str, watch: _VisitorWatch) -> None:
        """Until the agent accepts or declines, the offer times out, the agent leaves, or the visitor has
        left; then withdraw it."""
        offer = await self.store.get_record(site, OFFER, chat_id) or {}
        deadline_ms = int(offer.get("deadline_ms", 0)) or self.now_ms()
        last_presence_check = 0.0
        while self.now_ms() < deadline_ms:
            if await self.state(site, chat_id) != f"offered:{agent}" or await watch.left():
                return
            if self._clock() - last_presence_check >= 1.0:
                last_presence_check = self._clock()
                if not await self._present(site, agent):
                    break
            await asyncio.sleep(POLL_S)
        await self.withdraw(site, chat_id, agent)

    async def withdraw(self, site: str, chat_id: str, agent: str, declined: bool = False) -> bool:
        """The offer to ``agent`` goes back to the queue (timed out, agent gone, or declined by them)."""
        changed = await self._change(
            site,
            chat_id,
            lambda c: (
                msgspec.structs.replace(c, state="waiting", agent=c.agents[-1] if c.agents else None, offered_to=None)
                if c.lock == f"offered:{agent}"
                else None
            ),
        )
        if changed is None:
            return False
        await self._release(site, agent)
        await self.store.drop_record(site, OFFER, chat_id)
        if not declined:
            await self.bus.publish(agent_channel(site, agent), {"type": "withdrawn", "chat": chat_id})
        return True

    async def _present(self, site: str, agent: str) -> bool:
        return agent in await self.store.read_expiring(site, "agents", self.now_ms())

    async def _watch_agent(self, site: str, chat_id: str, agent: str, watch: _VisitorWatch) -> bool:
        """While the chat is active: True once the agent has been gone longer than the grace (re-offered).
        Returns False when the chat moved on, or the visitor has left (the caller ends it)."""
        gone_since: float | None = None
        while await self.state(site, chat_id) == f"active:{agent}":
            if await watch.left():
                return False
            if await self._present(site, agent):
                gone_since = None
            else:
                gone_since = gone_since or self._clock()
                if self._clock() - gone_since >= self.settings.agent_grace_s:
                    return await self._reassign(site, chat_id, agent)
            await asyncio.sleep(max(POLL_S, min(1.0, self.settings.agent_heartbeat_s)))
        return False

    async def _reassign(self, site: str, chat_id: str, agent: str) -> bool:
        changed = await self._change(
            site,
            chat_id,
            lambda c: msgspec.structs.replace(c, state="waiting") if c.lock == f"active:{agent}" else None,
        )
        if changed is None:
            return False
        await self._release(site, agent)
        await self.store.drop_record(site, ACTIVE, chat_id)
        name = changed[1].agent_name or "Your agent"
        await self.bus.publish(agent_channel(site, agent), {"type": "withdrawn", "chat": chat_id})
        await self._system(site, chat_id, f"{name} lost their connection. Finding someone else to help you…")
        await self._tell_state(changed[1])
        return True

    async def _release(self, site: str, agent: str) -> None:
        await self.store.bounded_add(site, f"load:{agent}", -1)

    async def _unanswered(self, site: str, chat_id: str, busy: bool = False) -> None:
        """Nobody (else) can take the chat: the visitor is offered the site's fallback (triggers/unanswered.py).
        A chat nobody ever took was ``missed``; one whose agent went away and found no successor was ended
        by that agent's leaving, and says so."""
        now_ms = self.now_ms()
        offer = unanswered(self._config(site), now_ms, busy).model_dump(mode="json")

        def close(c: ChatRecord) -> ChatRecord | None:
            if c.state != "waiting":
                return None
            taken = c.started_ms is not None
            return msgspec.structs.replace(
                c,
                state="ended" if taken else "missed",
                ended_by="agent" if taken else "nobody",
                end_reason="agent_left" if taken else "unanswered",
                ended_ms=now_ms,
                fallback=offer,
            )

        changed = await self._change(site, chat_id, close)
        if changed is None:
            return
        chat = changed[1]
        await self._closed_session(chat, now_ms)
        await self._system(site, chat_id, offer["message"])
        await self._tell_state(chat)
        if chat.state == "missed":
            await self._count(site, {"chats_missed": 1})
        await self._ended(site, chat)

    async def _closed_session(self, chat: ChatRecord, now_ms: int) -> None:
        if chat.session:
            await self.store.apply_ops(chat.site, chat.visitor, chat.session, chat_ops(now_ms, False))

    # -- agents ---------------------------------------------------------------------------------

    async def agent_connected(self, site: str, agent_id: str) -> None:
        """Recount the agent's load from the chats and offers they hold (a crash may have left it off)."""
        active = await self.agent_chats(site, agent_id)
        offers = [
            chat
            for chat, offer in (await self.store.list_records(site, OFFER)).items()
            if offer.get("agent") == agent_id
        ]
        await self.store.put_counter(site, f"load:{agent_id}", len(active) + len(offers))

    async def agent_chats(self, site: str, agent_id: str) -> list[str]:
        return [
            chat
            for chat, entry in (await self.store.list_records(site, ACTIVE)).items()
            if entry.get("agent") == agent_id
        ]

    async def agent_offers(self, site: str, agent_id: str) -> list[dict[str, Any]]:
        offers = await self.store.list_records(site, OFFER)
        chats = [await self.chat(site, chat) for chat, offer in offers.items() if offer.get("agent") == agent_id]
        return [chat for chat in chats if chat is not None]

    async def heartbeat(self, site: str, agent: dict[str, Any], status: str) -> LoadFrame:
        """Rewrite the agent's presence with their load; returns the load as the console shows it."""
        load = await self.store.bounded_add(site, f"load:{agent['id']}", 0) or 0
        await self._write_presence(site, agent, status, load)
        return LoadFrame(active=load, max=limit_of(agent))

    async def limit_changed(self, site: str, agent: dict[str, Any]) -> None:
        """An admin changed the agent's ``max_chats``: routing (which reads presence) uses it now, not at
        the console's next heartbeat."""
        presence = (await self.store.read_expiring(site, "agents", self.now_ms())).get(agent["id"])
        if presence is not None:
            await self._write_presence(site, agent, str(presence.get("status")), int(presence.get("active_chats", 0)))

    async def _write_presence(self, site: str, agent: dict[str, Any], status: str, load: int) -> None:
        expires_ms = self.now_ms() + int(self.settings.agent_presence_ttl_s * 1000)
        await self.store.put_expiring(
            site,
            "agents",
            agent["id"],
            {
                "status": status,
                "new": bool(agent.get("new")),
                "max_chats": limit_of(agent),
                "active_chats": load,
                "name": agent.get("name"),
                "skills": agent.get("skills") or [],
            },
            expires_ms,
        )

    def site_hours(self, site: str) -> SiteFrame:
        """Whether the site's hours are open now, as the console's banner says it."""
        hours = self._config(site).hours
        now_ms = self.now_ms()
        if hours is None or hours.is_open(now_ms):
            return SiteFrame(open=True)
        opening = hours.next_opening(now_ms)
        return SiteFrame(
            open=False,
            opening_hours=hours.summary(),
            next_opening=opening.isoformat() if opening is not None else None,
        )

    async def live_context(self, site: str, chat_id: str, agent_id: str) -> dict[str, Any] | None:
        """The visitor's context now, for the agent who has (or is offered) the chat; None for anyone else."""
        chat = await self.record(site, chat_id)
        if chat is None or chat.agent != agent_id or chat.final:
            return None
        return await visitor_context(self.store, site, chat.visitor, self.now_ms(), self._config(site).own_hosts())

    async def past_chats(self, site: str, chat_id: str, limit: int = 5) -> list[dict[str, Any]]:
        """The visitor's earlier chats, newest first: when, how each ended, who had it, the verdict, the
        rating and the visitor's first words. Read once when the console opens a chat."""
        chat = await self.record(site, chat_id)
        if chat is None:
            return []
        earlier = sorted(
            (
                listed
                for listed in (await self.store.list_records(site, CHAT)).values()
                if listed.get("visitor") == chat.visitor and listed.get("id") != chat_id
            ),
            key=lambda listed: int(listed.get("created_ms") or 0),
            reverse=True,
        )[:limit]
        past = []
        for listed in earlier:
            entries = await self.store.read_entries(site, f"m:{listed['id']}", 0, 50)
            first = next((str(e.get("text", "")) for _, e in entries if e.get("from") == "visitor"), None)
            past.append(
                {
                    key: listed.get(key)
                    for key in ("id", "created_ms", "state", "end_reason", "agent_name", "outcome", "csat")
                }
                | {"first": first[:140] if first is not None else None}
            )
        return past

    async def agent_gone(self, site: str, agent_id: str) -> None:
        """The console closed: capacity drops at once (the chats wait ``agent_grace_s`` for a reconnect)."""
        await self.store.drop_expiring(site, "agents", agent_id)

    async def accept(self, site: str, agent: dict[str, Any], chat_id: str) -> dict[str, Any] | None:
        agent_id = agent["id"]
        now_ms = self.now_ms()
        changed = await self._change(
            site,
            chat_id,
            lambda c: (
                msgspec.structs.replace(
                    c,
                    state="active",
                    agent=agent_id,
                    agent_name=agent.get("name"),
                    offered_to=None,
                    agents=[*c.agents, agent_id],
                    started_ms=c.started_ms or now_ms,
                )
                if c.lock == f"offered:{agent_id}"
                else None
            ),
        )
        if changed is None:
            return None
        before, chat = changed
        await self.store.drop_record(site, OFFER, chat_id)
        await self._put_beside(site, ACTIVE, chat_id, {"agent": agent_id})
        await self._system(site, chat_id, f"{agent.get('name') or 'An agent'} joined the chat.")
        await self._tell_state(chat)
        await self._emit(site, "chat.started", chat)  # again for a new agent: who has it now
        if before.started_ms is None:  # not a chat taken over after its agent was lost
            await self._count(site, {"chats_started": 1})
            CHATS.labels("started").inc()
        return chat.to_dict()

    async def colleagues(self, site: str, agent_id: str) -> list[dict[str, Any]]:
        """The other agents whose console is open: who they are, online or away, and their free slots."""
        present = await self.store.read_expiring(site, "agents", self.now_ms())
        listed = []
        for other, presence in sorted(present.items(), key=lambda item: str(item[1].get("name") or item[0])):
            if other == agent_id:
                continue
            limit = int(presence.get("max_chats") or 1)
            load = await self.store.bounded_add(site, f"load:{other}", 0) or 0
            free = max(0, limit - load)
            listed.append({"id": other, "name": presence.get("name"), "status": presence.get("status"), "free": free})
        return listed

    async def transfer(self, site: str, chat_id: str, agent: dict[str, Any], to: str) -> str | None:
        """Hand an active chat from ``agent`` to the colleague ``to``: None once done, else why not.

        The colleague must be online (not away) with a free slot, reserved through the same bounded add
        as an offer, so a transfer never takes anyone over their limit. The chat stays active throughout:
        the visitor is told who has it now, the colleague's console opens it with its history, and the
        routing loop watches the new agent from its next look."""
        agent_id = agent["id"]
        if to == agent_id:
            return "same_agent"
        target = await self.agents.get(site, to)
        if target is None:
            return "unknown_agent"
        if target.get("disabled"):
            return "disabled"
        presence = (await self.store.read_expiring(site, "agents", self.now_ms())).get(to)
        if presence is None or presence.get("status") != "online":
            return "offline"
        if await self.store.bounded_add(site, f"load:{to}", 1, int(presence.get("max_chats") or 1)) is None:
            return "full"
        changed = await self._change(
            site,
            chat_id,
            lambda c: (
                msgspec.structs.replace(c, agent=to, agent_name=target.get("name"), agents=[*c.agents, to])
                if c.lock == f"active:{agent_id}"
                else None
            ),
        )
        if changed is None:
            await self._release(site, to)
            return "not_your_chat"
        await self._release(site, agent_id)
        await self._put_beside(site, ACTIVE, chat_id, {"agent": to})
        await self.bus.publish(agent_channel(site, agent_id), {"type": "withdrawn", "chat": chat_id})
        await self.bus.publish(agent_channel(site, to), {"type": "transferred", "chat": chat_id})
        names = agent.get("name") or "Your agent", target.get("name") or "a colleague"
        await self._system(site, chat_id, f"{names[0]} passed the chat to {names[1]}.")
        await self._tell_state(changed[1])
        await self._emit(site, "chat.started", changed[1])  # as on a takeover: who has it now
        return None

    async def decline(self, site: str, agent_id: str, chat_id: str) -> bool:
        """The agent says no to the offer: it goes to the next agent at once."""
        return await self.withdraw(site, chat_id, agent_id, declined=True)

    # -- during the chat ----------------------------------------------------------------------

    async def say(
        self, site: str, chat_id: str, sender: str, text: str, cid: str | None, name: str | None
    ) -> int | None:
        """Append a message (once per client id ``cid``) and tell both sides; returns its id. None for an
        empty one, and for a chat deleted meanwhile, whose messages are then dropped again (as in
        ``_put_beside``: the deletion drops the chat's state before its messages)."""
        text = text.strip()[:TEXT_LIMIT]
        if not text:
            return None
        entry = {"from": sender, "text": text, "ts": self.now_ms(), "name": name, "cid": cid}
        message_id, duplicate = await self.store.append_entry(
            site, f"m:{chat_id}", entry, dedup=None if cid is None else f"{sender}:{cid}"
        )
        if await self.store.get_value(site, f"chat:{chat_id}") is None:
            await self.store.drop_log(site, f"m:{chat_id}")
            return None
        if not duplicate:
            await self._tell(site, chat_id, {"type": "msg", "id": message_id})
        return message_id

    async def messages(self, site: str, chat_id: str, after: int = 0) -> list[dict[str, Any]]:
        return [
            {"id": message_id, **entry}
            for message_id, entry in await self.store.read_entries(site, f"m:{chat_id}", after, 10_000)
        ]

    async def typing(self, site: str, chat_id: str, sender: str) -> None:
        await self._tell(site, chat_id, {"type": "typing", "from": sender})

    async def left_message(self, site: str, chat_id: str, visitor: str) -> None:
        """The visitor left a message instead of waiting: their chat, if nobody has taken it yet, ends so,
        and no agent is offered it afterwards."""
        current = await self.record(site, chat_id)
        if current is not None and current.visitor == visitor and current.state in ("waiting", "offered"):
            await self.end(site, chat_id, reason="left_message")

    async def end(
        self,
        site: str,
        chat_id: str,
        *,
        agent_id: str | None = None,
        verdict: Verdict | None = None,
        reason: EndReason | None = None,
    ) -> dict[str, Any] | None:
        """End the chat: by its agent (``agent_id``), by the visitor (``closed``), because the visitor
        left (``reason="left"``, from the routing loop), or because an admin deleted the visitor's data
        (``DATA_DELETED``, from ``erase``). The agent's ``verdict`` is recorded first, so that chat.ended
        carries it; on a chat that had already ended it comes later, as chat.rated."""
        current = await self.record(site, chat_id)
        if current is None or current.final:
            if current is not None and agent_id is not None and verdict is not None:
                await self.verdict(site, chat_id, agent_id, verdict.stuck, verdict.resolved)
            return None if current is None else await self.chat(site, chat_id)
        if agent_id is not None and current.lock != f"active:{agent_id}":
            return None
        if agent_id is not None and verdict is not None:
            await self.verdict(site, chat_id, agent_id, verdict.stuck, verdict.resolved)
        now_ms = self.now_ms()
        why: EndReason = reason or ("ended" if agent_id is not None else "closed")
        deleted = why == DATA_DELETED
        by: EndedBy = "admin" if deleted else "agent" if agent_id is not None else "visitor"

        def close(c: ChatRecord) -> ChatRecord | None:
            if c.final or (agent_id is not None and c.lock != f"active:{agent_id}"):
                return None
            return msgspec.structs.replace(
                c,
                state="ended",
                ended_by=by,
                end_reason=why,
                ended_ms=now_ms,
                offered_to=None,
            )

        changed = await self._change(site, chat_id, close)
        if changed is None:
            return await self.chat(site, chat_id)
        before, chat = changed
        holder = before.agent if before.state in ("offered", "active") else None
        if holder is not None:
            await self._release(site, holder)
            await self.store.drop_record(site, ACTIVE, chat_id)
            await self.store.drop_record(site, OFFER, chat_id)
        if not deleted:  # the visitor's data is being deleted: nothing more is written about them
            await self._closed_session(chat, now_ms)
            said = {"left": "The visitor left the chat.", "left_message": "A message was left for the team by email."}
            await self._system(site, chat_id, said.get(why, "The chat has ended."))
        await self._tell_state(chat)
        if holder is not None:
            await self.bus.publish(agent_channel(site, holder), {"type": "ended", "chat": chat_id, "reason": why})
        await self._ended(site, chat)
        return chat.to_dict()

    async def erase(self, site: str, chat_id: str) -> None:
        """The chat and everything kept beside it, gone: a visitor's deletion (and the retention sweep).

        A live chat is ended first, as any end is (``DATA_DELETED``): its agent's slot is freed at once, their
        console and the visitor's open panel are told, chat.ended goes out without the visitor's data. Then
        the chat's state goes, retried until it is gone, then what is kept beside it. Writers that add to a
        chat (its listing, offer, active record and messages) check the state after they write and take
        back what they wrote when it is gone, so a chat changing while it is deleted does not come back in
        parts; one being opened checks its invitation (``open_chat``)."""
        await self.end(site, chat_id, reason=DATA_DELETED)  # nothing for a chat that is over (or not there)
        for _ in range(DELETE_ATTEMPTS):
            raw = await self.store.get_value(site, f"chat:{chat_id}")
            if raw is None or await self.store.compare_and_set(site, f"chat:{chat_id}", raw, None):
                break
        else:
            log.warning("chat %s: state kept changing through %d deletion attempts", chat_id, DELETE_ATTEMPTS)
        await self.store.drop_log(site, f"m:{chat_id}")
        await self.store.drop_record(site, CHAT, chat_id)
        await self.store.drop_record(site, ACTIVE, chat_id)
        await self.store.drop_record(site, OFFER, chat_id)

    async def _emit(self, site: str, event: str, chat: ChatRecord, **extra: Any) -> None:
        """A chat's webhook event. Once the visitor's data is deleted (the deletion ended this chat, or the
        chat is gone by the time its event goes out) it carries only ``erased(chat)``."""
        if chat.end_reason == DATA_DELETED or await self.store.get_value(site, f"chat:{chat.id}") is None:
            await self.webhooks.emit(site, event, erased(chat))
        else:
            await self.webhooks.emit(site, event, summary(chat), **extra)

    async def _ended(self, site: str, chat: ChatRecord) -> None:
        await self._emit(site, "chat.ended", chat, messages=lambda: self.messages(site, chat.id))

    async def _rated(self, site: str, chat: ChatRecord, rating: dict[str, Any]) -> None:
        """A rating that arrives once the chat is over (chat.ended went without it)."""
        if chat.final:
            await self._emit(site, "chat.rated", chat, rating=rating)

    async def verdict(self, site: str, chat_id: str, agent_id: str, stuck: bool, resolved: bool) -> bool:
        """The agent's verdict: kept with the transcript, and a label for the site's learner."""
        now_ms = self.now_ms()
        outcome = Outcome(stuck=stuck, resolved=resolved, agent=agent_id, ts=now_ms)
        changed = await self._change(
            site,
            chat_id,
            lambda c: (
                msgspec.structs.replace(c, outcome=outcome) if c.agent == agent_id and c.outcome is None else None
            ),
        )
        if changed is None:
            return False
        await self.store.append_labels(
            site, [{"k": "verdict_stuck" if stuck else "verdict_not_stuck", "invite": chat_id, "ts": now_ms}]
        )
        await self._count(
            site,
            {
                "chats_verdict_stuck" if stuck else "chats_verdict_not_stuck": 1,
                "chats_resolved" if resolved else "chats_unresolved": 1,
            },
        )
        await self._rated(
            site, changed[1], {"by": "agent", "verdict": "stuck" if stuck else "not_stuck", "resolved": resolved}
        )
        return True

    async def rate(self, site: str, chat_id: str, visitor: str, score: int) -> bool:
        """The visitor's satisfaction rating (1-5), once per chat, for analytics."""
        if not 1 <= score <= 5:
            return False
        changed = await self._change(
            site,
            chat_id,
            lambda c: msgspec.structs.replace(c, csat=score) if c.visitor == visitor and c.csat is None else None,
        )
        if changed is None:
            return False
        await self._count(site, {"csat_n": 1, f"csat_{score}": 1, "csat_sum": score})
        await self._rated(site, changed[1], {"by": "visitor", "csat": score})
        return True


def _offer_to(agent: str) -> Callable[[ChatRecord], ChatRecord | None]:
    def change(chat: ChatRecord) -> ChatRecord | None:
        if chat.state != "waiting":
            return None
        return msgspec.structs.replace(chat, state="offered", agent=agent, offered_to=agent)

    return change


class _Queue:
    """A chat waiting for a busy team: its place in the site's queue and the wait the visitor is told.

    The wait is ``triggers.capacity.expected_wait_s`` for this chat with the chats that began waiting
    before it counted ahead: one slot frees every ``average_chat_s / slots`` seconds. The visitor hears
    it, with how long they can still be kept waiting (``chat_queue_wait_s`` in all), when it changes (at
    most every ``QUEUE_TELL_S``); a tab that opens later reads it here.
    """

    def __init__(self, service: ChatService, site: str, chat_id: str, since_ms: int) -> None:
        self.service, self.site, self.chat_id, self.since_ms = service, site, chat_id, since_ms
        self.started = service._clock()
        self.told: int | None = None
        self._checked = 0.0

    async def tell(self, left_s: float) -> None:
        """Refresh the estimate and tell the visitor if it changed; ``left_s``: until the queue wait ends."""
        service = self.service
        now = service._clock()
        if now - self._checked < QUEUE_TELL_S and self.told is not None:
            return
        self._checked = now
        now_ms = service.now_ms()
        queue = await service.store.read_expiring(self.site, QUEUE, now_ms)
        ahead = sum(
            1
            for chat, entry in queue.items()
            if chat != self.chat_id and (int(entry.get("since", 0)), chat) < (self.since_ms, self.chat_id)
        )
        config = service._config(self.site)
        present = await service.store.read_expiring(self.site, "agents", now_ms)
        # Busy as far as this chat goes: every slot of every online agent is taken (the heartbeat's copy of
        # the load may be a moment old, and agents who let this chat's offer lapse count as taken).
        online = [
            Agent(id=agent, new=bool(p.get("new")), max_chats=p.get("max_chats"))
            for agent, p in present.items()
            if p.get("status") == "online"
        ]
        full = [a.model_copy(update={"active_chats": agent_limit(config.capacity, a)}) for a in online]
        snapshot = CapacitySnapshot(agents=full, pending_invites=[1.0] * ahead)
        estimate = expected_wait_s(config.capacity, snapshot, 1.0)  # None: everyone online is away
        wait = config.capacity.average_chat_s if estimate is None else estimate
        limit = max(0, round(left_s))
        entry = {"since": self.since_ms, "wait_s": wait, "until_ms": now_ms + limit * 1000}
        await service.store.put_expiring(self.site, QUEUE, self.chat_id, entry, now_ms + QUEUE_TTL_MS)
        if wait != self.told:
            self.told = wait
            frame = StateFrame(
                state="waiting",
                expected_wait_s=wait,
                wait_limit_s=limit,
                leave_message=config.fallback.offline.leave_message,
            )
            await service._tell(self.site, self.chat_id, frame_dict(frame))

    async def leave(self) -> None:
        if self.told is not None:
            await self.service.store.drop_expiring(self.site, QUEUE, self.chat_id)
            self.told = None


class _VisitorWatch:
    """Whether the visitor has left: no tab has had the chat open for ``visitor_grace_s`` (read at most
    about once a second; moving to another page of the site takes well under the grace)."""

    def __init__(self, service: ChatService, site: str, chat_id: str) -> None:
        self.service, self.site, self.chat_id = service, site, chat_id
        self._checked = 0.0
        self._gone_since: float | None = None

    async def left(self) -> bool:
        clock = self.service._clock
        if clock() - self._checked < 1.0:
            return self._gone_for_long(clock())
        self._checked = clock()
        if await self.service.visitor_online(self.site, self.chat_id):
            self._gone_since = None
        else:
            self._gone_since = self._gone_since or clock()
        return self._gone_for_long(clock())

    def _gone_for_long(self, now: float) -> bool:
        return self._gone_since is not None and now - self._gone_since >= self.service.settings.visitor_grace_s
