"""The two chat clients as the browser runs them, reconnecting and resending by docs/protocol.md.

``Panel`` does what the widget's panel does (widget_js/src/chat.js): it opens
``/v1/chat/ws`` with ``last`` = the highest message id it has shown, keeps every message it
sends as pending under its ``cid`` until an ``ack`` (or the message itself) comes back,
resends all pending ones, in order, as soon as a new socket opens, shows a message id once,
and after a drop waits 400 ms times the number of failed attempts in a row (at most 6) before
trying again. ``Console`` does what the agent console does (api/static/agent/agent.js): it
signs in with ``hello`` carrying ``last`` per chat, resends its pending messages once the
``hello`` answer arrives, clears one on its ``ack``, and waits 300 ms times the attempts (at
most 5). Both keep every ``msg`` frame as it came over the wire, so a test can tell a message
shown twice from one sent twice, and time each drop until the conversation resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.api.shopping import ORIGIN


class Refused(AssertionError):
    """The server closed for good (unknown chat, bad token): the client would give up."""


@dataclass
class Party:
    url: str
    step_s: float
    max_steps: int
    sent: list[str] = field(default_factory=list)
    """Texts in the order they were typed."""
    pending: dict[str, str] = field(default_factory=dict)
    wire: list[dict[str, Any]] = field(default_factory=list)
    """Every ``msg`` frame received, over every connection, duplicates included."""
    shown: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Message id -> the message, as the client shows it (once per id)."""
    typed_at: dict[str, float] = field(default_factory=dict)
    shown_at: dict[str, float] = field(default_factory=dict)
    """Text -> when it was typed here, and when it was first shown here."""
    connections: int = 0
    outages: list[float] = field(default_factory=list)
    """Seconds from each dropped connection until a new one had resumed the conversation."""
    socket: Any = None
    retry: int = 0
    dropped_at: float | None = None
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    _cids: int = 0
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    """A browser runs one handler at a time: a message typed never slips between the resends of an open."""

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def address(self) -> str:
        raise NotImplementedError

    async def opened(self, socket: Any) -> None:
        raise NotImplementedError

    async def receive(self, frame: dict[str, Any]) -> None:
        raise NotImplementedError

    def refused(self, code: int | None) -> bool:
        raise NotImplementedError

    def frame_for(self, cid: str, text: str) -> dict[str, Any]:
        raise NotImplementedError

    def _resumed(self) -> None:
        if self.dropped_at is not None:
            self.outages.append(self._now() - self.dropped_at)
            self.dropped_at = None
        self.resumed.set()

    async def run(self) -> None:
        """Connected, and connected again after every drop, until cancelled."""
        while True:
            code: int | None = None
            try:
                async with websockets.connect(
                    self.address(), additional_headers={"Origin": ORIGIN}, open_timeout=5
                ) as socket:
                    self.connections += 1
                    await self.opened(socket)
                    async for raw in socket:
                        await self.receive(orjson.loads(raw))
                code = socket.close_code
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as error:
                code = getattr(getattr(error, "rcvd", None), "code", None)
            self.socket = None
            self.resumed.clear()
            if self.dropped_at is None:
                self.dropped_at = self._now()
            if self.refused(code):
                raise Refused(f"{type(self).__name__} closed with {code}")
            self.retry = min(self.retry + 1, self.max_steps)
            await asyncio.sleep(self.step_s * self.retry)

    async def send_now(self, frame: dict[str, Any], socket: Any = None) -> None:
        """What the browser does with a frame: sent if the socket is open, else dropped (pending stays)."""
        socket = socket or self.socket
        if socket is not None:
            with contextlib.suppress(ConnectionClosed):
                await socket.send(orjson.dumps(frame).decode())

    async def say(self, text: str) -> None:
        self._cids += 1
        cid = f"m_{type(self).__name__.lower()}{self._cids:05d}"
        async with self._turn:
            self.sent.append(text)
            self.typed_at[text] = self._now()
            self.pending[cid] = text
            await self.send_now(self.frame_for(cid, text))

    async def resend_pending(self, socket: Any) -> None:
        """Every message not acknowledged yet, in the order typed, on a socket that just opened."""
        for cid, text in list(self.pending.items()):
            await self.send_now(self.frame_for(cid, text), socket)

    def show(self, frame: dict[str, Any]) -> None:
        self.wire.append(frame)
        self.shown.setdefault(int(frame["id"]), frame)
        self.shown_at.setdefault(frame["text"], self._now())

    def heard(self, sender: str) -> list[str]:
        """What the client shows from ``sender``, in the order shown."""
        return [m["text"] for m in self.shown.values() if m["from"] == sender]

    def doubled(self) -> int:
        """Messages that came twice: an id delivered again, or one text under two ids."""
        again = sum(n - 1 for n in Counter(int(f["id"]) for f in self.wire).values())
        texts = Counter(m["text"] for m in self.shown.values() if m["from"] != "system")
        return again + sum(n - 1 for n in texts.values())


@dataclass
class Panel(Party):
    """The visitor's chat panel."""

    visitor: str = ""
    chat: str = ""
    last: int = 0
    states: list[dict[str, Any]] = field(default_factory=list)

    def address(self) -> str:
        return f"{self.url}/v1/chat/ws?site=demo&visitor={self.visitor}&chat={self.chat}&last={self.last}"

    async def opened(self, socket: Any) -> None:
        self.retry = 0
        async with self._turn:
            await self.resend_pending(socket)
            self.socket = socket

    async def receive(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "msg":
            if int(frame["id"]) not in self.shown:
                self.last = max(self.last, int(frame["id"]))
                if frame.get("cid") and frame["from"] == "visitor":
                    self.pending.pop(frame["cid"], None)
            self.show(frame)
        elif frame["type"] == "ack":
            self.pending.pop(frame["cid"], None)
        elif frame["type"] == "state":
            self.states.append(frame)
            self._resumed()

    def refused(self, code: int | None) -> bool:
        return code == 4403

    def frame_for(self, cid: str, text: str) -> dict[str, Any]:
        return {"type": "msg", "cid": cid, "text": text}


@dataclass
class Console(Party):
    """The agent's console, following one chat."""

    token: str = ""
    chat: str = ""
    last: dict[str, int] = field(default_factory=dict)
    chats: list[dict[str, Any]] = field(default_factory=list)
    """Every ``chat`` frame: the record as the console was given it on each (re)connection."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    opening: Any = None
    """The socket being signed in on: nothing but ``hello`` goes out on it until the server's answer."""

    def address(self) -> str:
        return f"{self.url}/v1/agent/ws"

    async def opened(self, socket: Any) -> None:
        self.opening = socket
        await socket.send(
            orjson.dumps({"type": "hello", "token": self.token, "status": "online", "last": self.last}).decode()
        )

    async def receive(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "hello":
            self.retry = 0
            self._resumed()
            async with self._turn:
                await self.resend_pending(self.opening)
                self.socket = self.opening  # signed in: frames go out from now on
        elif kind == "msg":
            chat = frame["chat"]
            if int(frame["id"]) not in self.shown:
                self.last[chat] = max(self.last.get(chat, 0), int(frame["id"]))
            self.show(frame)
        elif kind == "ack":
            self.pending.pop(frame["cid"], None)
        elif kind == "chat":
            self.chats.append(frame["chat"])
        elif kind == "error":
            self.errors.append(frame)

    def refused(self, code: int | None) -> bool:
        return code in (4401, 4409)

    def frame_for(self, cid: str, text: str) -> dict[str, Any]:
        return {"type": "msg", "chat": self.chat, "cid": cid, "text": text}


async def converse(party: Party, texts: list[str], every_s: float, stop: asyncio.Event) -> None:
    """One side typing at a steady rate, whatever the connection is doing, until ``stop``."""
    for text in texts:
        if stop.is_set():
            return
        await party.say(text)
        await asyncio.sleep(every_s)


async def settled(panel: Panel, console: Console, timeout_s: float) -> None:
    """Until each side shows everything the other typed and nothing is pending (or the time is up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if (
            not panel.pending
            and not console.pending
            and len(console.heard("visitor")) >= len(panel.sent)
            and len(panel.heard("agent")) >= len(console.sent)
        ):
            return
        await asyncio.sleep(0.1)


@dataclass
class Figures:
    visitor_to_agent: int
    agent_to_visitor: int
    reconnects: list[float]
    lost: int
    doubled: int
    slowest: float
    """The longest a message took from typed on one side to shown on the other, in seconds."""

    def line(self, what: str) -> str:
        times = sorted(self.reconnects)
        median = statistics.median(times) if times else 0.0
        return (
            f"{what}: messages visitor->agent {self.visitor_to_agent}, agent->visitor {self.agent_to_visitor}; "
            f"reconnects {len(times)}, reconnect time max {max(times, default=0.0):.2f} s, median {median:.2f} s; "
            f"slowest message {self.slowest:.2f} s; lost {self.lost}, doubled {self.doubled}"
        )


def figures(panel: Panel, console: Console) -> Figures:
    lost = len(set(panel.sent) - set(console.heard("visitor"))) + len(set(console.sent) - set(panel.heard("agent")))
    return Figures(
        len(panel.sent),
        len(console.sent),
        panel.outages + console.outages,
        lost,
        panel.doubled() + console.doubled(),
        max(
            [console.shown_at[t] - at for t, at in panel.typed_at.items() if t in console.shown_at]
            + [panel.shown_at[t] - at for t, at in console.typed_at.items() if t in panel.shown_at],
            default=0.0,
        ),
    )
