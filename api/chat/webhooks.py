"""Helpdesk webhooks: chat.requested, chat.started, chat.ended and chat.rated, signed, retried, in order.

Events go to a per-site outbox in the Store (a log with ids) the moment they
happen, whichever worker they happen on. One worker at a time holds the site's
delivery lease and sends them in outbox order: so events reach the receiver in
the order they happened, for every chat. A failed delivery is retried with
exponential backoff (``webhook_backoff_s``, doubling); after
``webhook_max_attempts`` it is recorded as failed (visible to the admin) and the
outbox moves on. Every attempt (and every ``webhook.test`` an admin sends) goes on a
short list of recent deliveries: what was sent, the answer, how long it took.

An event leaves the outbox (``trim_entries``) once it is delivered or given up on: the store keeps only
the backlog. A chat's event is sent as the chat is when it goes out: a chat deleted since the event was
queued (its visitor's data deleted) is sent cut to ``erased_fields``, never with what was queued.

Signature: ``Tactful-Signature: t=<unix seconds>, v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
``verify`` is what a receiver runs; docs/integrations.md shows it verbatim (a test holds the two equal),
so it needs nothing but the standard library.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.client
import logging
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from api.chat.models import decode_chat
from api.store import ChatRecords

log = logging.getLogger("tactful.chat.webhooks")

CONFIG = "webhook"
STATUS = "webhook_status"
OUTBOX = "webhooks"
EVENTS = ("chat.requested", "chat.started", "chat.ended", "chat.rated")
EARLIER_DEFAULT = ["chat.requested", "chat.started", "chat.ended"]
"""What a webhook configured with the default events stored before chat.rated existed: it still means all."""
Event = Literal["chat.requested", "chat.started", "chat.ended", "chat.rated"]
MESSAGES_KEPT = 200
"""``include_messages``: chat.ended carries at most this many of the chat's messages, the newest."""
LEASE_MS = 15_000
FAILURES_KEPT = 50
DELIVERIES = "webhook_deliveries"
DELIVERIES_KEPT = 50
TEST_EVENT = "webhook.test"
"""Sent only when an admin asks for a test delivery: whatever ``events`` the webhook subscribes to."""
TIMEOUT_S = 5.0
REMOVE_ATTEMPTS = 20
ERASED_FIELDS = (
    "id",
    "site",
    "state",
    "agent",
    "agents",
    "created_ms",
    "started_ms",
    "ended_ms",
    "ended_by",
    "end_reason",
)
"""What a chat's events carry once its visitor's data is deleted (docs/integrations.md)."""


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://", max_length=2048)
    events: list[Event] | None = Field(None, min_length=1, description="null: every event, also ones added later")
    secret: str | None = Field(None, min_length=16, max_length=200, description="generated when not given")
    enabled: bool = True
    include_messages: bool = Field(
        False, description=f"chat.ended carries the transcript (at most {MESSAGES_KEPT} messages, the newest)"
    )


def subscribed(config: dict[str, Any], event: str) -> bool:
    events = config.get("events")
    return events is None or events == EARLIER_DEFAULT or event in events


def erased_fields(chat: Mapping[str, Any]) -> dict[str, Any]:
    """A chat (its record, or the body an event queued) cut to ``ERASED_FIELDS``: nothing of the visitor."""
    return {key: chat.get(key) for key in ERASED_FIELDS} | {"visitor_data_deleted": True}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp}, v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance_s: int = 300, now_s: float | None = None) -> bool:
    """Whether ``header`` (Tactful-Signature) signs ``body`` (the raw bytes) with ``secret``, recently."""
    parts = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    now = time.time() if now_s is None else now_s
    return abs(now - timestamp) <= tolerance_s and hmac.compare_digest(expected, parts.get("v1", ""))


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


class Delivery(BaseModel):
    """One attempt at delivering one event (a test delivery included), as the admin sees it."""

    id: str = Field(description="the Tactful-Delivery header: the same for every attempt at one event")
    event: str
    at_ms: int = Field(description="when the attempt was made")
    outcome: Literal["delivered", "retrying", "failed"] = Field(
        description="failed: this was the last attempt (or a test delivery that did not get a 2xx)"
    )
    status: int | None = Field(description="the receiver's HTTP status; null when there was no answer")
    error: str | None = Field(description="why it did not count as delivered: `HTTP 500`, `unreachable: ...`")
    duration_ms: int
    attempts: int = Field(description="attempts at this event so far, this one included")


class Deliveries(BaseModel):
    deliveries: list[Delivery] = Field(description=f"newest first, at most {DELIVERIES_KEPT}")


@dataclass(frozen=True)
class _Answer:
    status: int | None
    error: str | None
    duration_ms: int


@dataclass
class _Retry:
    entry: int
    attempts: int
    next_at: float


class Webhooks:
    def __init__(
        self, store: ChatRecords, backoff_s: float, max_attempts: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.backoff_s = backoff_s
        self.max_attempts = max_attempts
        self._clock = clock
        self._holder = uuid.uuid4().hex
        self._retries: dict[str, _Retry] = {}
        self._swept: set[str] = set()
        """Sites whose outbox this process has trimmed up to the cursor once (what a crash, or an earlier
        version, left behind); after that each delivery trims what it sent."""

    # -- configuration ---------------------------------------------------------------------

    async def configure(self, site: str, spec: WebhookIn) -> dict[str, Any]:
        document = spec.model_dump() | {"secret": spec.secret or "whsec_" + secrets.token_urlsafe(24)}
        await self.store.put_record(site, CONFIG, "default", document)
        return document

    async def config(self, site: str) -> dict[str, Any] | None:
        return await self.store.get_record(site, CONFIG, "default")

    async def remove(self, site: str) -> None:
        """No webhook: nothing more is queued, and what was still waiting is not sent and leaves the store
        (a webhook configured again gets the events from then on; delivery ids carry on counting)."""
        await self.store.drop_record(site, CONFIG, "default")
        self._retries.pop(site, None)
        for _ in range(REMOVE_ATTEMPTS):  # a delivery under way may move the cursor meanwhile
            cursor = int(await self.store.get_value(site, "webhooks:cursor") or 0)
            waiting = await self.store.read_entries(site, OUTBOX, cursor, limit=10_000)
            if not waiting:
                return
            last = waiting[-1][0]
            if await self.store.compare_and_set(site, "webhooks:cursor", str(cursor) if cursor else None, str(last)):
                await self.store.trim_entries(site, OUTBOX, last)

    async def status(self, site: str) -> dict[str, Any]:
        status = await self.store.get_record(site, STATUS, "default") or {}
        cursor = int(await self.store.get_value(site, "webhooks:cursor") or 0)
        backlog = len(await self.store.read_entries(site, OUTBOX, cursor, limit=10_000))
        return {
            "delivered": status.get("delivered", 0),
            "failed": status.get("failed", 0),
            "backlog": backlog,
            "last_error": status.get("last_error"),
            "failures": status.get("failures", []),
        }

    async def deliveries(self, site: str) -> list[dict[str, Any]]:
        return await self.store.read_recent(site, DELIVERIES)

    async def test(self, site: str) -> dict[str, Any] | None:
        """Send a ``webhook.test`` now, signed and posted as every event is, and say what happened (None: no
        webhook). It skips the outbox, so it neither waits behind a backlog nor holds one up."""
        config = await self.config(site)
        if config is None:
            return None
        delivery = f"wh_{site}_test_{secrets.token_hex(6)}"
        entry = {"event": TEST_EVENT, "created_ms": int(self._clock() * 1000)}
        answer = await self._send(config, site, delivery, entry)
        return await self._record(
            site, delivery, TEST_EVENT, answer, 1, "delivered" if answer.error is None else "failed"
        )

    # -- producing -------------------------------------------------------------------------

    async def emit(
        self,
        site: str,
        event: str,
        chat: dict[str, Any],
        *,
        messages: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
        **extra: Any,
    ) -> None:
        """Queue ``event``; ``messages`` (read only if the webhook wants them) go with chat.ended, ``extra``
        at the top level of the body (chat.rated's ``rating``)."""
        config = await self.config(site)
        if config is None or not config.get("enabled") or not subscribed(config, event):
            return
        if messages is not None and config.get("include_messages"):
            kept = await messages()
            chat = chat | {
                "messages": [
                    {key: m.get(key) for key in ("id", "from", "name", "text", "ts")} for m in kept[-MESSAGES_KEPT:]
                ],
                "messages_truncated": len(kept) > MESSAGES_KEPT,
            }
        if isinstance(chat.get("context"), dict) and "identity" in chat["context"]:
            # Who the visitor is stays with the chat, which a privacy request deletes; the outbox keeps its
            # entries, so the name and email join the body only when it is sent (``_send``).
            chat = chat | {"context": {k: v for k, v in chat["context"].items() if k != "identity"}}
        now_ms = int(self._clock() * 1000)
        await self.store.append_entry(site, OUTBOX, {"event": event, "created_ms": now_ms, "chat": chat} | extra)

    # -- delivering ------------------------------------------------------------------------

    async def deliver_all(self, sites: list[str]) -> None:
        for site in sites:
            await self.deliver(site)

    async def deliver(self, site: str) -> int:
        """Send what is due for one site, in order; returns how many were delivered."""
        config = await self.config(site)
        if config is None:
            return 0
        now = self._clock()
        if not await self.store.claim(site, "webhooks", self._holder, LEASE_MS, int(now * 1000)):
            return 0
        retry = self._retries.get(site)
        if retry is not None and retry.next_at > now:
            return 0
        cursor = int(await self.store.get_value(site, "webhooks:cursor") or 0)
        if site not in self._swept:
            await self.store.trim_entries(site, OUTBOX, cursor)
            self._swept.add(site)
        delivered = 0
        for entry_id, entry in await self.store.read_entries(site, OUTBOX, cursor, limit=100):
            delivery = f"wh_{site}_{entry_id}"
            answer = await self._send(config, site, delivery, entry)
            attempts = (retry.attempts if retry and retry.entry == entry_id else 0) + 1
            if answer.error is not None:
                if attempts < self.max_attempts:
                    self._retries[site] = _Retry(
                        entry_id, attempts, self._clock() + self.backoff_s * 2 ** (attempts - 1)
                    )
                    await self._record(site, delivery, entry["event"], answer, attempts, "retrying")
                    await self._note(site, last_error=answer.error)
                    return delivered
                await self._record(site, delivery, entry["event"], answer, attempts, "failed")
                await self._note(site, failed=entry | {"id": entry_id, "error": answer.error, "attempts": attempts})
            else:
                delivered += 1
                await self._record(site, delivery, entry["event"], answer, attempts, "delivered")
                await self._note(site, delivered=True)
            self._retries.pop(site, None)
            retry = None
            await self._advance(site, cursor, entry_id)
            cursor = entry_id
        return delivered

    async def _advance(self, site: str, cursor: int, entry_id: int) -> None:
        """Past ``entry_id`` (delivered, or given up on), which then leaves the store."""
        await self.store.compare_and_set(site, "webhooks:cursor", str(cursor) if cursor else None, str(entry_id))
        await self.store.trim_entries(site, OUTBOX, entry_id)

    async def _send(self, config: dict[str, Any], site: str, delivery: str, entry: dict[str, Any]) -> _Answer:
        """The one way anything is sent: signed with the site's secret, posted with a timeout, timed."""
        # The entry: event, created_ms, and a chat's event its chat and any extra (chat.rated's rating).
        # The chat is read as it is now: deleted since the event was queued (its visitor's data deleted),
        # the event goes cut to what a receiver needs to delete its copy; else the visitor's name and email
        # join the body here, from the chat, never from the outbox.
        chat = entry.get("chat")
        if isinstance(chat, dict) and "id" in chat:
            raw = await self.store.get_value(site, f"chat:{chat['id']}")
            if raw is None:
                entry = {"event": entry["event"], "created_ms": entry["created_ms"], "chat": erased_fields(chat)}
            elif isinstance(chat.get("context"), dict):
                identity = decode_chat(raw).context.get("identity")
                identity = identity if isinstance(identity, dict) else None
                entry = entry | {"chat": chat | {"context": chat["context"] | {"identity": identity}}}
        body = orjson.dumps({"id": delivery, "event": entry["event"], "site": site} | entry)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tactful-Webhooks/1",
            "Tactful-Event": entry["event"],
            "Tactful-Delivery": delivery,
            "Tactful-Signature": sign(str(config["secret"]), int(self._clock()), body),
        }
        started = time.perf_counter()
        try:
            status: int | None = await asyncio.to_thread(_post, str(config["url"]), body, headers)
            error = None if status is not None and 200 <= status < 300 else f"HTTP {status}"
        except (OSError, ValueError, http.client.HTTPException) as failure:  # ValueError: a URL urllib refuses
            status, error = None, f"unreachable: {failure}"
        return _Answer(status, error, round((time.perf_counter() - started) * 1000))

    async def _record(
        self, site: str, delivery: str, event: str, answer: _Answer, attempts: int, outcome: str
    ) -> dict[str, Any]:
        record = {
            "id": delivery,
            "event": event,
            "at_ms": int(self._clock() * 1000),
            "outcome": outcome,
            "status": answer.status,
            "error": answer.error,
            "duration_ms": answer.duration_ms,
            "attempts": attempts,
        }
        await self.store.push_recent(site, DELIVERIES, record, DELIVERIES_KEPT)
        return record

    async def _note(
        self, site: str, *, delivered: bool = False, failed: dict[str, Any] | None = None, last_error: str | None = None
    ) -> None:
        status = await self.store.get_record(site, STATUS, "default") or {}
        if delivered:
            status["delivered"] = int(status.get("delivered", 0)) + 1
        if failed is not None:
            status["failed"] = int(status.get("failed", 0)) + 1
            failure = {
                "id": failed["id"],
                "event": failed["event"],
                "chat": failed["chat"].get("id"),
                "error": failed["error"],
                "attempts": failed["attempts"],
                "at_ms": int(self._clock() * 1000),
            }
            status["failures"] = [failure, *status.get("failures", [])][:FAILURES_KEPT]
            last_error = failed["error"]
        if last_error is not None:
            status["last_error"] = {"error": last_error, "at_ms": int(self._clock() * 1000)}
        await self.store.put_record(site, STATUS, "default", status)
