"""Transcripts: every chat with its messages, context and outcome; search, export, retention, erasure."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from api.chat.models import State, decode_chat
from api.chat.service import CHAT, ChatService
from api.store import ChatRecords, ExpiringTables, VisitorLog
from tracker.days import days_ms

log = logging.getLogger(__name__)


class TranscriptStore(ChatRecords, ExpiringTables, VisitorLog, Protocol):
    """Chats and their messages, the invitations that opened them, and a visitor's deletion."""


OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Search:
    visitor: str | None = None
    agent: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    text: str | None = None
    limit: int = 100
    state: State | None = None


class Transcripts:
    def __init__(self, service: ChatService, retention_days: int) -> None:
        self.service = service
        self.store: TranscriptStore = service.store
        self.retention_days = retention_days

    async def messages(self, site: str, chat_id: str) -> list[dict[str, Any]]:
        return [
            {"id": message_id, **entry}
            for message_id, entry in await self.store.read_entries(site, f"m:{chat_id}", 0, 100_000)
        ]

    async def get(self, site: str, chat_id: str) -> dict[str, Any] | None:
        raw = await self.store.get_value(site, f"chat:{chat_id}")  # the record itself; the listing may lag
        chat = decode_chat(raw).to_dict() if raw is not None else await self.store.get_record(site, CHAT, chat_id)
        return None if chat is None else chat | {"messages": await self.messages(site, chat_id)}

    async def search(self, site: str, query: Search) -> list[dict[str, Any]]:
        """Newest first. Text matches any message (case-insensitive); ``state`` is the chat's state now."""
        chats = sorted(
            (await self.store.list_records(site, CHAT)).values(), key=lambda chat: int(chat["created_ms"]), reverse=True
        )
        found = []
        needle = (query.text or "").casefold()
        for chat in chats:
            if query.visitor and chat["visitor"] != query.visitor:
                continue
            if query.agent and query.agent not in (chat.get("agents") or []):
                continue
            if query.state and chat.get("state") != query.state:
                continue
            if query.since_ms is not None and chat["created_ms"] < query.since_ms:
                continue
            if query.until_ms is not None and chat["created_ms"] > query.until_ms:
                continue
            if needle:
                messages = await self.messages(site, chat["id"])
                if not any(needle in str(message.get("text", "")).casefold() for message in messages):
                    continue
            found.append(chat)
            if len(found) >= query.limit:
                break
        return found

    async def export(self, site: str, query: Search) -> AsyncIterator[bytes]:
        """JSON Lines: one chat per line, with its messages."""
        for chat in await self.search(site, query):
            yield orjson.dumps(
                chat | {"messages": await self.messages(site, chat["id"])}, option=orjson.OPT_APPEND_NEWLINE
            )

    async def sweep(self, site: str, now_ms: int) -> int:
        """Delete chats (and offline messages) older than the retention; returns how many chats went."""
        horizon = now_ms - days_ms(self.retention_days)
        gone = 0
        for chat_id, chat in (await self.store.list_records(site, CHAT)).items():
            finished = chat.get("ended_ms")
            if finished is not None and finished < horizon:
                await self.service.erase(site, chat_id)
                gone += 1
        for message_id, message in (await self.store.list_records(site, OFFLINE)).items():
            if message["ts"] < horizon:
                await self.store.drop_record(site, OFFLINE, message_id)
        await self.store.read_expiring(site, "invites", now_ms)  # reading drops the expired ones
        return gone

    async def forget_visitor(self, site: str, visitor: str) -> dict[str, int]:
        """A privacy request: the visitor's chats, messages, offline messages and state, all gone.

        Their state and invitations go first: a chat being opened from one of those invitations meanwhile
        checks, once it is listed, that its invitation is still there, and erases itself when it is not
        (``ChatService.open_chat``); so every chat that outlives that check is listed by the time the
        listing is read here. A live chat is ended as it is erased: its agent's slot is freed at once."""
        await self.store.forget_visitor(site, visitor)
        chats = [
            chat_id
            for chat_id, chat in (await self.store.list_records(site, CHAT)).items()
            if chat["visitor"] == visitor
        ]
        for chat_id in chats:
            await self.service.erase(site, chat_id)
        offline = [
            key
            for key, message in (await self.store.list_records(site, OFFLINE)).items()
            if message.get("visitor") == visitor
        ]
        for key in offline:
            await self.store.drop_record(site, OFFLINE, key)
        return {"chats": len(chats), "offline_messages": len(offline)}

    # -- the offline form ------------------------------------------------------------------

    async def leave_message(
        self, site: str, visitor: str, chat: str | None, email: str, message: str, now_ms: int
    ) -> dict[str, Any]:
        key = "o_" + secrets.token_hex(8)
        document = {
            "id": key,
            "visitor": visitor,
            "chat": chat,
            "email": email,
            "message": message,
            "ts": now_ms,
            "handled": False,
            "handled_ms": None,
        }
        await self.store.put_record(site, OFFLINE, key, document)
        return document

    async def offline_messages(self, site: str, handled: bool | None = None) -> list[dict[str, Any]]:
        """Newest first; ``handled`` keeps only the messages someone has (True) or has not (False) dealt with."""
        messages = (_with_status(m) for m in (await self.store.list_records(site, OFFLINE)).values())
        return sorted((m for m in messages if handled is None or m["handled"] is handled), key=lambda m: -int(m["ts"]))

    async def mark_handled(self, site: str, message_id: str, handled: bool, now_ms: int) -> dict[str, Any] | None:
        """Mark an offline message dealt with (or not again); None for an unknown one. The status is a field
        of the message's own record, so deleting the message (the visitor's data, retention) deletes it, and
        it is set only while the message exists: a click that races the deletion does not bring it back."""
        status = {"handled": handled, "handled_ms": now_ms if handled else None}
        return await self.store.update_record(site, OFFLINE, message_id, status)


def _with_status(message: dict[str, Any]) -> dict[str, Any]:
    """Messages left before the handled status existed read as not handled."""
    return message | {"handled": bool(message.get("handled")), "handled_ms": message.get("handled_ms")}
