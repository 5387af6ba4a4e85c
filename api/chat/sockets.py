"""The two WebSockets: a visitor's chat panel and an agent's console.

Both follow bus channels and, on every ``msg`` notification, send what they have
not sent yet from the stored log (ids only grow): a reconnecting client passes
its last seen id and resumes exactly there, and resends its unacknowledged
messages with the same client id, which the store appends once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from api.chat.agents import AgentDirectory, public
from api.chat.models import (
    DATA_DELETED,
    Accept,
    AckFrame,
    AgentFrame,
    CannedFrame,
    ChatFrame,
    ClosedFrame,
    Colleagues,
    ColleaguesFrame,
    ContextAsk,
    ContextFrame,
    Decline,
    End,
    EndedFrame,
    ErrorFrame,
    HelloFrame,
    LoadFrame,
    MessageFrame,
    OfferFrame,
    OfferGoneFrame,
    Out,
    PresenceFrame,
    Rate,
    RatedFrame,
    Say,
    SiteFrame,
    StateFrame,
    Status,
    StatusFrame,
    Transfer,
    TransferFailedFrame,
    Typing,
    TypingFrame,
    VerdictFrame,
    VisitorFrame,
    WithdrawnFrame,
    agent_frame,
    encode_frame,
    visitor_frame,
)
from api.chat.service import FINAL, ChatService, Verdict, agent_channel, chat_channel, team_channel
from api.limits import SocketLimits
from api.settings import Settings
from api.store import ChatRecords, StoreUnavailable
from api.store.bus import ChatBus, Subscription

log = logging.getLogger("tactful.chat.sockets")

LEASE_MS = 5_000
AUTH_TIMEOUT_S = 10.0
CLOSE_UNAUTHORISED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
CLOSE_TRY_AGAIN = 1013


class Link:
    """One open socket: serialised sends, and the last message id sent per chat."""

    def __init__(self, socket: WebSocket, service: ChatService, site: str) -> None:
        self.socket = socket
        self.service = service
        self.site = site
        self.sent: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def send(self, frame: Out) -> None:
        async with self._lock:
            await self.socket.send_text(encode_frame(frame))

    async def flush(self, chat_id: str, tagged: bool = False) -> None:
        """Send the chat's messages after the last one sent, in order, once each."""
        async with self._lock:
            for message in await self.service.messages(self.site, chat_id, self.sent.get(chat_id, 0)):
                frame = MessageFrame(
                    id=message["id"],
                    from_=message["from"],
                    text=message["text"],
                    ts=message["ts"],
                    name=message.get("name"),
                    cid=message.get("cid"),
                    chat=chat_id if tagged else None,
                )
                await self.socket.send_text(encode_frame(frame))
                self.sent[chat_id] = message["id"]


async def _pump(subscription: Subscription, handle: Callable[[str, dict[str, Any]], Awaitable[bool]]) -> None:
    """Bus events to ``handle`` until it returns False."""
    while True:
        channel, event = await subscription.get()
        if not await handle(channel, event):
            return


async def _cancel(*tasks: asyncio.Task[Any]) -> None:
    """Cancel until done: a Redis client may turn a cancellation mid-command into an error that a
    loop survives."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
    await asyncio.gather(*tasks, return_exceptions=True)


async def _race(*work: Awaitable[Any]) -> None:
    """Run until the first of ``work`` finishes (the socket closed, or the session ended); cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if (
                not task.cancelled()
                and (error := task.exception()) is not None
                and not isinstance(error, WebSocketDisconnect | StoreUnavailable)
            ):
                log.warning("chat socket ended by an error: %r", error)
    finally:
        await _cancel(*tasks)


class ChatHub:
    """This worker's sockets, and the routing loops it owns."""

    def __init__(
        self, store: ChatRecords, bus: ChatBus, service: ChatService, agents: AgentDirectory, settings: Settings
    ) -> None:
        self.store = store
        self.bus = bus
        self.service = service
        self.agents = agents
        self.settings = settings
        self._routing: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def stop(self) -> None:
        for task in list(self._routing.values()):
            await _cancel(task)

    # -- routing ownership -----------------------------------------------------------------

    def ensure_routing(self, site: str, chat_id: str) -> None:
        """Route the chat from this worker unless someone already does (a lease, renewed while routing)."""
        running = self._routing.get((site, chat_id))
        if running is None or running.done():
            self._routing[(site, chat_id)] = asyncio.create_task(self._own(site, chat_id), name=f"route {chat_id}")

    async def _own(self, site: str, chat_id: str) -> None:
        holder = uuid.uuid4().hex
        try:
            while await self.service.state(site, chat_id) not in (None, *FINAL):
                if await self.store.claim(site, f"owner:{chat_id}", holder, LEASE_MS, self.service.now_ms()):
                    routing = asyncio.create_task(self.service.route(site, chat_id))
                    try:
                        while not routing.done():
                            await asyncio.wait({routing}, timeout=LEASE_MS / 3000)
                            if not routing.done() and not await self.store.claim(
                                site, f"owner:{chat_id}", holder, LEASE_MS, self.service.now_ms()
                            ):
                                break  # the lease went elsewhere (this worker stalled): stop routing here
                    finally:
                        await _cancel(routing)
                    return
                await asyncio.sleep(LEASE_MS / 2000)  # someone else routes; take over if their lease lapses
        except StoreUnavailable as error:
            log.warning("routing of chat %s paused, store unavailable: %s", chat_id, error)
        finally:
            self._routing.pop((site, chat_id), None)

    # -- the visitor's chat panel ------------------------------------------------------------

    async def visitor(
        self, socket: WebSocket, site: str, visitor: str, chat_id: str, last: int, skill: str | None
    ) -> None:
        chat = await self.service.open_chat(site, visitor, chat_id, skill)
        if chat is None:
            await socket.close(CLOSE_FORBIDDEN, "unknown invitation")
            return
        await socket.accept()
        link = Link(socket, self.service, site)
        link.sent[chat_id] = max(0, last)
        subscription = self.bus.subscribe()
        subscription.follow(chat_channel(site, chat_id))
        connection = self.service.visitor_connection()
        final = chat["state"] in FINAL
        try:
            if not final:
                await self.service.visitor_here(site, chat_id, connection)
            await link.send(
                StateFrame(
                    state=chat["state"],
                    agent_name=chat.get("agent_name") if chat["state"] == "active" else None,
                    fallback=chat.get("fallback"),
                    ended_by=chat.get("ended_by"),
                    end_reason=chat.get("end_reason"),
                    **await self.service.queued(site, chat_id) if chat["state"] == "waiting" else {},
                )
            )
            await link.flush(chat_id)
            if not final:
                await self.bus.publish(
                    chat_channel(site, chat_id), {"type": "presence", "from": "visitor", "online": True}
                )
                self.ensure_routing(site, chat_id)

            async def on_event(channel: str, event: dict[str, Any]) -> bool:
                kind = event.get("type")
                if kind == "msg":
                    await link.flush(chat_id)
                elif kind == "typing" and event.get("from") == "agent":
                    await link.send(TypingFrame())
                elif kind == "state":
                    await link.flush(chat_id)
                    await link.send(msgspec.convert(event, StateFrame))
                    if event.get("end_reason") == DATA_DELETED:
                        return False  # the chat is gone with the visitor's data: nothing more to follow
                return True

            async def read() -> None:
                limits = self._limits()  # frame size and rate (api/limits.py)
                while True:
                    frame = visitor_frame(await limits.receive_json(socket))
                    if frame is not None:
                        await self._from_visitor(link, site, visitor, chat_id, frame)

            async def here() -> None:  # this tab still has the chat open (the routing loop watches it)
                while not final:
                    await asyncio.sleep(self.settings.agent_heartbeat_s)
                    await self.service.visitor_here(site, chat_id, connection)

            await _race(read(), _pump(subscription, on_event), here())
        finally:
            subscription.close()
            if not final:
                with contextlib.suppress(StoreUnavailable):
                    online = await self.service.visitor_away(site, chat_id, connection)
                    await self.bus.publish(
                        chat_channel(site, chat_id), {"type": "presence", "from": "visitor", "online": online}
                    )

    async def _from_visitor(self, link: Link, site: str, visitor: str, chat_id: str, frame: VisitorFrame) -> None:
        if isinstance(frame, Say):
            if await self.service.state(site, chat_id) in FINAL:
                return
            cid = (frame.cid or "")[:64] or None
            message_id = await self.service.say(site, chat_id, "visitor", frame.text, cid, None)
            await link.send(AckFrame(cid=cid, id=message_id))
        elif isinstance(frame, Typing):
            await self.service.typing(site, chat_id, "visitor")
        elif isinstance(frame, End):
            await self.service.end(site, chat_id)
        elif isinstance(frame, Rate):
            ok = await self.service.rate(site, chat_id, visitor, frame.score)
            await link.send(RatedFrame(ok=ok))

    # -- the agent's console --------------------------------------------------------------------

    async def agent(self, socket: WebSocket) -> None:
        await socket.accept()
        try:
            hello = await asyncio.wait_for(self._limits().receive_json(socket), AUTH_TIMEOUT_S)
        except (TimeoutError, ValueError, WebSocketDisconnect):
            await self._close(socket, CLOSE_UNAUTHORISED, "sign in first")
            return
        try:
            agent = await self.agents.authenticate(str(hello.get("token", ""))) if isinstance(hello, dict) else None
        except StoreUnavailable as error:
            log.warning("agent not signed in, store unavailable: %s", error)
            await self._close(socket, CLOSE_TRY_AGAIN, "try again later")  # the console reconnects
            return
        if agent is None:
            frame = ErrorFrame(error="invalid_token", message="this token is not valid (or the agent is disabled)")
            await socket.send_text(encode_frame(frame))
            await self._close(socket, CLOSE_UNAUTHORISED, "invalid token")
            return
        site, agent_id, connection = agent["site"], agent["id"], uuid.uuid4().hex
        link = Link(socket, self.service, site)
        status: dict[str, Any] = {"value": "away" if hello.get("status") == "away" else "online", "replaced": False}
        subscription = self.bus.subscribe()
        subscription.follow(agent_channel(site, agent_id))
        subscription.follow(team_channel(site))
        await self.bus.publish(agent_channel(site, agent_id), {"type": "kick", "connection": connection})
        try:
            await self.service.agent_connected(site, agent_id)
            await self.service.heartbeat(site, agent, status["value"])
            await link.send(
                HelloFrame(agent=public(agent), status=status["value"], canned=await self.agents.canned(site))
            )
            resume = hello.get("last") if isinstance(hello.get("last"), dict) else {}
            for chat_id in await self.service.agent_chats(site, agent_id):
                link.sent[chat_id] = int(resume.get(chat_id, 0) or 0)
                await self._open_chat(link, subscription, chat_id)
                # Someone routes (and watches both sides of) every open chat, even when the worker that
                # did went down while the visitor was between pages.
                self.ensure_routing(site, chat_id)
            for offered in await self.service.agent_offers(site, agent_id):
                await link.send(OfferFrame(chat=offered))

            async def heartbeat() -> None:
                shown: LoadFrame | None = None
                hours: SiteFrame | None = None
                while True:
                    current = await self.agents.get(site, agent_id)
                    if current is None or current.get("disabled"):
                        return
                    if current.get("token_sha256") != agent.get("token_sha256"):
                        return  # a new token was issued: the one this console signed in with stops here too
                    load = await self.service.heartbeat(site, current, status["value"])
                    if load != shown:  # the console's "2 of 3 chats"
                        shown = load
                        await link.send(load)
                    now_open = self.service.site_hours(site)
                    if now_open != hours:  # the console's "the site is closed" banner
                        hours = now_open
                        await link.send(now_open)
                    await asyncio.sleep(self.settings.agent_heartbeat_s)

            async def on_event(channel: str, event: dict[str, Any]) -> bool:
                return await self._to_agent(link, subscription, agent_id, connection, status, channel, event)

            async def read() -> None:
                limits = self._limits()
                while True:
                    frame = agent_frame(await limits.receive_json(socket))
                    if frame is not None:
                        await self._from_agent(link, subscription, agent, status, frame)

            await _race(read(), heartbeat(), _pump(subscription, on_event))
        finally:
            subscription.close()
            if not status["replaced"]:
                with contextlib.suppress(StoreUnavailable):
                    await self.service.agent_gone(site, agent_id)
            await self._close(socket, CLOSE_REPLACED if status["replaced"] else 1000, "")

    async def _open_chat(self, link: Link, subscription: Subscription, chat_id: str) -> None:
        chat = await self.service.chat(link.site, chat_id)
        if chat is None:
            return
        subscription.follow(chat_channel(link.site, chat_id))
        await link.send(ChatFrame(chat=chat))
        await link.flush(chat_id, tagged=True)
        online = await self.service.visitor_online(link.site, chat_id)
        await link.send(PresenceFrame(chat=chat_id, online=online))

    async def _to_agent(
        self,
        link: Link,
        subscription: Subscription,
        agent_id: str,
        connection: str,
        status: dict[str, Any],
        channel: str,
        event: dict[str, Any],
    ) -> bool:
        kind = event.get("type")
        if channel.startswith("team:"):
            if kind == "canned":
                await link.send(CannedFrame(canned=await self.agents.canned(link.site)))
        elif channel.startswith("agent:"):
            if kind == "kick":
                if event.get("connection") != connection:
                    status["replaced"] = True  # a newer console took over; it keeps the presence
                    return False
            elif kind == "transferred":
                await self._open_chat(link, subscription, event["chat"])
            elif kind in ("offer", "withdrawn", "ended"):
                chat_id = event["chat"]["id"] if kind == "offer" else event["chat"]
                if kind == "withdrawn" or event.get("reason") == DATA_DELETED:
                    subscription.unfollow(chat_channel(link.site, chat_id))
                await link.send(
                    OfferFrame(chat=event["chat"], expires_in=event.get("expires_in"))
                    if kind == "offer"
                    else WithdrawnFrame(chat=chat_id)
                    if kind == "withdrawn"
                    else EndedFrame(chat=chat_id, reason=event.get("reason"))
                )
            return True
        chat_id = channel.rsplit(":", 1)[1]
        if kind == "msg":
            await link.flush(chat_id, tagged=True)
        elif kind == "typing" and event.get("from") == "visitor":
            await link.send(TypingFrame(chat=chat_id))
        elif kind == "presence":
            await link.send(PresenceFrame(chat=chat_id, online=bool(event.get("online"))))
        elif kind == "state":
            await link.flush(chat_id, tagged=True)
            await link.send(msgspec.structs.replace(msgspec.convert(event, StateFrame), chat=chat_id))
        return True

    async def _from_agent(
        self,
        link: Link,
        subscription: Subscription,
        agent: dict[str, Any],
        status: dict[str, Any],
        frame: AgentFrame,
    ) -> None:
        site, agent_id = link.site, agent["id"]
        if isinstance(frame, Status):
            status["value"] = frame.status
            await self.service.heartbeat(site, agent, status["value"])
            await link.send(StatusFrame(status=status["value"]))
        elif isinstance(frame, Accept):
            if await self.service.accept(site, agent, frame.chat) is None:
                await link.send(OfferGoneFrame(chat=frame.chat))
            else:
                await self._open_chat(link, subscription, frame.chat)
        elif isinstance(frame, Decline):
            await self.service.decline(site, agent_id, frame.chat)
        elif isinstance(frame, Colleagues):
            await link.send(ColleaguesFrame(agents=await self.service.colleagues(site, agent_id)))
        elif isinstance(frame, ContextAsk):
            context = await self.service.live_context(site, frame.chat, agent_id)
            if context is not None:
                past = await self.service.past_chats(site, frame.chat) if frame.past else None
                await link.send(ContextFrame(chat=frame.chat, context=context, past=past))
        elif isinstance(frame, Transfer):
            failed = await self.service.transfer(site, frame.chat, agent, frame.to)
            if failed is not None:
                await link.send(TransferFailedFrame(chat=frame.chat, reason=failed))
        elif isinstance(frame, Say):
            chat_id = frame.chat
            if await self.service.state(site, chat_id) != f"active:{agent_id}":
                await link.send(ErrorFrame(error="not_your_chat", chat=chat_id))
                return
            cid = (frame.cid or "")[:64] or None
            message_id = await self.service.say(site, chat_id, "agent", frame.text, cid, agent.get("name"))
            await link.send(AckFrame(cid=cid, id=message_id, chat=chat_id))
        elif isinstance(frame, Typing):
            if await self.service.state(site, frame.chat) == f"active:{agent_id}":
                await self.service.typing(site, frame.chat, "agent")
        elif isinstance(frame, End | VerdictFrame):
            chat_id = frame.chat
            verdict = Verdict(frame.stuck, frame.resolved) if frame.stuck is not None else None
            if isinstance(frame, End):
                await self.service.end(site, chat_id, agent_id=agent_id, verdict=verdict)
            elif verdict is not None:
                await self.service.verdict(site, chat_id, agent_id, verdict.stuck, verdict.resolved)
            await link.send(ClosedFrame(chat=chat_id))
            subscription.unfollow(chat_channel(site, chat_id))

    def _limits(self) -> SocketLimits:
        return SocketLimits(
            self.settings.ws_max_message_bytes, self.settings.ws_messages_per_s, self.settings.ws_messages_burst
        )

    @staticmethod
    async def _close(socket: WebSocket, code: int, reason: str) -> None:
        if socket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await socket.close(code, reason)
