"""Agents and their credentials: created by an admin, one token each, scoped to one site.

A token reads ``tfa.<site>.<agent>.<secret>``: the site and agent say where to look,
and only a SHA-256 of the secret is stored (the secret has 256 random bits, so a
fast hash is enough), compared in constant time. A disabled agent's token stops
working at once, including on a console that is already connected (it is kicked).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.store import ChatRecords
from tracker.protocol import SITE_KEY

AGENT = "agent"
CANNED = "canned"
DEFAULT_MAX_CHATS = 3
NEW_AGENT_MAX_CHATS = 1
_TOKEN = re.compile(rf"^tfa\.({SITE_KEY})\.(a_[0-9a-f]{{12}})\.([A-Za-z0-9_-]{{20,100}})$")


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    max_chats: int | None = Field(None, ge=1, le=50, description="default 3; 1 for a new agent")
    new: bool = False
    skills: list[str] = Field(default_factory=list, max_length=20)


class AgentChange(BaseModel):
    """What an admin changes on an existing agent (``PATCH``)."""

    model_config = ConfigDict(extra="forbid")

    max_chats: int = Field(ge=1, le=50, description="chats at once; routing uses the new limit at once")


class CannedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: str = Field(pattern=r"^[a-z0-9_-]{1,32}$", description="typed as /shortcut in the console")
    text: str = Field(min_length=1, max_length=2000)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def public(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent as the API shows it: never the token's hash."""
    return {key: value for key, value in agent.items() if key != "token_sha256"}


def limit_of(agent: dict[str, Any]) -> int:
    if agent.get("max_chats"):
        return int(agent["max_chats"])
    return NEW_AGENT_MAX_CHATS if agent.get("new") else DEFAULT_MAX_CHATS


class AgentDirectory:
    def __init__(self, store: ChatRecords) -> None:
        self.store = store

    async def create(self, site: str, spec: AgentIn, now_ms: int) -> tuple[dict[str, Any], str]:
        """The new agent and its token (shown once; only its hash is kept)."""
        agent_id = "a_" + secrets.token_hex(6)
        agent = {
            "id": agent_id,
            "site": site,
            "name": spec.name,
            "new": spec.new,
            "max_chats": spec.max_chats or (NEW_AGENT_MAX_CHATS if spec.new else DEFAULT_MAX_CHATS),
            "skills": sorted(set(spec.skills)),
            "disabled": False,
            "created_ms": now_ms,
        }
        token = await self._issue(site, agent)
        return public(agent), token

    async def _issue(self, site: str, agent: dict[str, Any]) -> str:
        secret = secrets.token_urlsafe(32)
        agent["token_sha256"] = _digest(secret)
        await self.store.put_record(site, AGENT, agent["id"], agent)
        return f"tfa.{site}.{agent['id']}.{secret}"

    async def rotate(self, site: str, agent_id: str) -> str | None:
        """A new token; the old one stops at once. Only the hash changes, atomically: an admin disabling
        the agent at the same moment is not undone by the rotation."""
        secret = secrets.token_urlsafe(32)
        agent = await self.store.update_record(site, AGENT, agent_id, {"token_sha256": _digest(secret)})
        return None if agent is None else f"tfa.{site}.{agent_id}.{secret}"

    async def all(self, site: str) -> list[dict[str, Any]]:
        agents = await self.store.list_records(site, AGENT)
        return sorted((public(a) for a in agents.values()), key=lambda a: (a["created_ms"], a["id"]))

    async def get(self, site: str, agent_id: str) -> dict[str, Any] | None:
        return await self.store.get_record(site, AGENT, agent_id)

    async def set_disabled(self, site: str, agent_id: str, disabled: bool) -> dict[str, Any] | None:
        return await self._update(site, agent_id, {"disabled": disabled})

    async def change(self, site: str, agent_id: str, change: AgentChange) -> dict[str, Any] | None:
        return await self._update(site, agent_id, change.model_dump())

    async def _update(self, site: str, agent_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Merge ``fields`` atomically (a read then a write lost one of two admins' changes at once)."""
        agent = await self.store.update_record(site, AGENT, agent_id, fields)
        return None if agent is None else public(agent)

    async def authenticate(self, token: str) -> dict[str, Any] | None:
        """The agent a token belongs to, if it is valid and the agent enabled."""
        match = _TOKEN.match(token or "")
        if match is None:
            return None
        site, agent_id, secret = match.groups()
        agent = await self.store.get_record(site, AGENT, agent_id)
        if agent is None or agent.get("disabled"):
            return None
        if not hmac.compare_digest(_digest(secret), str(agent.get("token_sha256", ""))):
            return None
        return agent

    # -- canned responses: per site, inserted in the console with /shortcut ----------------

    async def put_canned(self, site: str, canned: CannedIn) -> dict[str, Any]:
        document = canned.model_dump()
        await self.store.put_record(site, CANNED, canned.shortcut, document)
        return document

    async def drop_canned(self, site: str, shortcut: str) -> None:
        await self.store.drop_record(site, CANNED, shortcut)

    async def canned(self, site: str) -> list[dict[str, Any]]:
        return sorted((await self.store.list_records(site, CANNED)).values(), key=lambda c: str(c["shortcut"]))
