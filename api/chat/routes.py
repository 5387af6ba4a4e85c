"""HTTP and WebSocket routes for agents and chat: thin, each a translation to api/chat."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from api.auth import AdminDep
from api.chat.agents import AgentChange, AgentIn, CannedIn
from api.chat.models import State
from api.chat.runtime import Chat
from api.chat.service import team_channel
from api.chat.transcripts import Search
from api.chat.webhooks import Deliveries, Delivery, WebhookIn
from api.deps import EngineDep, SettingsDep
from api.responses import json_response, problem
from api.static_pages import page_file
from tracker.protocol import SITE_KEY_PATTERN
from triggers.unanswered import Unanswered, withdrawn

AGENT_DIR = Path(__file__).resolve().parents[1] / "static" / "agent"
CONSOLE_FILES = {"agent.js", "agent.css"}
"""The console's assets; its page, like every page of ours, forbids inline script and style."""
ID = r"^[A-Za-z0-9_-]{8,64}$"


async def get_chat(request: Request) -> Chat:
    return request.app.state.chat  # type: ignore[no-any-return]


ChatDep = Annotated[Chat, Depends(get_chat)]
admin = APIRouter(prefix="/v1/admin/sites/{site}", tags=["agents"])
public = APIRouter(tags=["chat"])


async def _site(engine: EngineDep, site: str) -> str:
    if engine.sites.get(site) is None:
        raise HTTPException(404, {"error": "unknown_site", "field": "site", "message": f"no site {site!r}"})
    return site


SiteDep = Annotated[str, Depends(_site)]


def _not_found(what: str, field: str) -> HTTPException:
    return HTTPException(404, {"error": f"unknown_{what}", "field": field, "message": f"no such {what}"})


# -- agents -------------------------------------------------------------------------------------


@admin.post("/agents", status_code=201)
async def create_agent(
    site: SiteDep, spec: AgentIn, chat: ChatDep, engine: EngineDep, settings: SettingsDep, _: AdminDep
) -> Response:
    """A new agent and their token: shown this once (only a hash of it is kept)."""
    agent, token = await chat.agents.create(site, spec, engine.now_ms())
    return json_response(
        {"agent": agent, "token": token, "sign_in_url": f"{settings.public_url}/agent#token={token}"}, 201
    )


@admin.get("/agents")
async def list_agents(site: SiteDep, chat: ChatDep, engine: EngineDep, _: AdminDep) -> Response:
    """Every agent with their presence now: online, away or offline, and their load."""
    present = await chat.store.read_expiring(site, "agents", engine.now_ms())
    return json_response(
        [
            agent
            | {
                "presence": present.get(agent["id"], {}).get("status", "offline"),
                "active_chats": present.get(agent["id"], {}).get("active_chats", 0),
            }
            for agent in await chat.agents.all(site)
        ]
    )


@admin.patch("/agents/{agent_id}")
async def change_agent(site: SiteDep, agent_id: str, change: AgentChange, chat: ChatDep, _: AdminDep) -> Response:
    """A new ``max_chats``: routing uses it at once (a lower one takes nothing away, it only stops new offers
    until the load is under it)."""
    agent = await chat.agents.change(site, agent_id, change)
    if agent is None:
        raise _not_found("agent", "agent_id")
    await chat.service.limit_changed(site, agent)
    return json_response(agent)


@admin.post("/agents/{agent_id}/disable")
async def disable_agent(site: SiteDep, agent_id: str, chat: ChatDep, _: AdminDep) -> Response:
    """The token stops working at once; a connected console is closed within a heartbeat."""
    agent = await chat.agents.set_disabled(site, agent_id, True)
    if agent is None:
        raise _not_found("agent", "agent_id")
    return json_response(agent)


@admin.post("/agents/{agent_id}/enable")
async def enable_agent(site: SiteDep, agent_id: str, chat: ChatDep, _: AdminDep) -> Response:
    agent = await chat.agents.set_disabled(site, agent_id, False)
    if agent is None:
        raise _not_found("agent", "agent_id")
    return json_response(agent)


@admin.post("/agents/{agent_id}/token")
async def rotate_token(site: SiteDep, agent_id: str, chat: ChatDep, settings: SettingsDep, _: AdminDep) -> Response:
    """A new token for the agent; the old one stops working, and a console signed in with it closes within a
    heartbeat."""
    token = await chat.agents.rotate(site, agent_id)
    if token is None:
        raise _not_found("agent", "agent_id")
    return json_response({"token": token, "sign_in_url": f"{settings.public_url}/agent#token={token}"})


# -- canned responses ---------------------------------------------------------------------------


@admin.get("/canned")
async def list_canned(site: SiteDep, chat: ChatDep, _: AdminDep) -> Response:
    return json_response(await chat.agents.canned(site))


@admin.post("/canned", status_code=201)
async def put_canned(site: SiteDep, canned: CannedIn, chat: ChatDep, _: AdminDep) -> Response:
    """Create or replace the response typed as ``/shortcut`` in the console; open consoles get it at once."""
    stored = await chat.agents.put_canned(site, canned)
    await chat.bus.publish(team_channel(site), {"type": "canned"})
    return json_response(stored, 201)


@admin.delete("/canned/{shortcut}", status_code=204)
async def drop_canned(site: SiteDep, shortcut: str, chat: ChatDep, _: AdminDep) -> Response:
    await chat.agents.drop_canned(site, shortcut)
    await chat.bus.publish(team_channel(site), {"type": "canned"})
    return Response(status_code=204)


# -- webhooks -----------------------------------------------------------------------------------


@admin.put("/webhook")
async def put_webhook(site: SiteDep, spec: WebhookIn, chat: ChatDep, _: AdminDep) -> Response:
    """Where chat.requested / chat.started / chat.ended / chat.rated go, and the secret that signs them."""
    return json_response(await chat.webhooks.configure(site, spec))


@admin.get("/webhook")
async def get_webhook(site: SiteDep, chat: ChatDep, _: AdminDep) -> Response:
    """The webhook (secret included: this is the admin) and its deliveries: counts, backlog, failures."""
    config = await chat.webhooks.config(site)
    if config is None:
        raise _not_found("webhook", "site")
    return json_response(config | {"status": await chat.webhooks.status(site)})


@admin.delete("/webhook", status_code=204)
async def drop_webhook(site: SiteDep, chat: ChatDep, _: AdminDep) -> Response:
    await chat.webhooks.remove(site)
    return Response(status_code=204)


@admin.post("/webhook/test", response_model=Delivery)
async def test_webhook(site: SiteDep, chat: ChatDep, _: AdminDep) -> Response:
    """Send a signed ``webhook.test`` now, the way every event is sent, and answer what happened: a failed
    delivery is still a 200 (the test was made), with ``outcome``, ``status`` and ``error`` saying why."""
    delivery = await chat.webhooks.test(site)
    if delivery is None:
        raise _not_found("webhook", "site")
    return json_response(delivery)


@admin.get("/webhook/deliveries", response_model=Deliveries)
async def webhook_deliveries(site: SiteDep, chat: ChatDep, _: AdminDep) -> Response:
    """The latest delivery attempts, newest first: each retry is one, and so is each test delivery."""
    return json_response({"deliveries": await chat.webhooks.deliveries(site)})


# -- transcripts and privacy --------------------------------------------------------------------


async def _search(
    visitor: str | None = None,
    agent: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    state: Annotated[State | None, Query(description="the chat's state now")] = None,
) -> Search:
    return Search(visitor, agent, since_ms, until_ms, q, limit, state)


SearchDep = Annotated[Search, Depends(_search)]


@admin.get("/chats")
async def search_chats(site: SiteDep, query: SearchDep, chat: ChatDep, _: AdminDep) -> Response:
    """Chats, newest first, by visitor, agent, state, creation time (ms) and text in any message."""
    return json_response(await chat.transcripts.search(site, query))


@admin.get("/chats/export")
async def export_chats(site: SiteDep, query: SearchDep, chat: ChatDep, _: AdminDep) -> Response:
    """The same search as JSON Lines, each chat with its messages."""
    return StreamingResponse(
        chat.transcripts.export(site, query),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{site}-chats.jsonl"'},
    )


@admin.get("/chats/{chat_id}")
async def get_chat_transcript(site: SiteDep, chat_id: str, chat: ChatDep, _: AdminDep) -> Response:
    transcript = await chat.transcripts.get(site, chat_id)
    if transcript is None:
        raise _not_found("chat", "chat_id")
    return json_response(transcript)


@admin.get("/offline-messages")
async def offline_messages(
    site: SiteDep,
    chat: ChatDep,
    _: AdminDep,
    handled: Annotated[bool | None, Query(description="only the handled (true) or unhandled (false) ones")] = None,
) -> Response:
    """What visitors left when nobody could answer, newest first, each with whether it has been handled."""
    return json_response(await chat.transcripts.offline_messages(site, handled))


class HandledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handled: StrictBool


@admin.post("/offline-messages/{offline_id}/handled")
async def mark_offline_message(
    site: SiteDep, offline_id: str, status: HandledIn, chat: ChatDep, engine: EngineDep, _: AdminDep
) -> Response:
    """Someone has dealt with the message (``handled: true``), or it goes back to the unhandled ones."""
    message = await chat.transcripts.mark_handled(site, offline_id, status.handled, engine.now_ms())
    if message is None:
        raise HTTPException(
            404, {"error": "unknown_offline_message", "field": "offline_id", "message": "no such offline message"}
        )
    return json_response(message)


@admin.delete("/visitors/{visitor}")
async def forget_visitor(site: SiteDep, visitor: str, chat: ChatDep, _: AdminDep) -> Response:
    """A privacy request: the visitor's chats, messages, offline messages and state are deleted."""
    return json_response({"deleted": await chat.transcripts.forget_visitor(site, visitor)})


# -- the visitor's side ---------------------------------------------------------------------------


class OfflineMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str = Field(pattern=SITE_KEY_PATTERN)
    visitor: str = Field(pattern=ID)
    chat: str | None = Field(None, pattern=ID)
    email: str = Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$")
    message: str = Field(min_length=1, max_length=2000)


_OFFLINE_BODY = {
    "required": True,
    "content": {kind: {"schema": OfflineMessage.model_json_schema()} for kind in ("application/json", "text/plain")},
}


@public.post("/v1/chat/offline", status_code=201, openapi_extra={"requestBody": _OFFLINE_BODY})
async def leave_message(request: Request, chat: ChatDep, engine: EngineDep) -> Response:
    """The offline form (``text/plain`` JSON is accepted, so no CORS preflight is needed)."""
    body = await request.body()
    if len(body) > 8192:
        return problem(413, "body_too_large", "at most 8 KiB")
    try:
        form = OfflineMessage.model_validate(orjson.loads(body or b"null"))
    except orjson.JSONDecodeError:
        return problem(400, "malformed_json", "the body is not JSON")
    except ValidationError as error:
        first: Any = error.errors()[0]
        return problem(400, "invalid_value", str(first["msg"]), ".".join(str(p) for p in first["loc"]) or None)
    config, origin = engine.sites.get(form.site), request.headers.get("origin")
    if config is None:
        return problem(401, "unknown_site", f"no site is configured with key {form.site!r}", "site")
    if not config.allows_origin(origin):
        return problem(403, "origin_not_allowed", "this origin may not write to this site", "Origin")
    stored = await chat.transcripts.leave_message(
        form.site, form.visitor, form.chat, form.email, form.message, engine.now_ms()
    )
    if form.chat is not None:
        await chat.service.left_message(form.site, form.chat, form.visitor)
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}
    return json_response({"id": stored["id"]}, 201, headers)


class Answerable(BaseModel):
    """Whether a person can answer an agent invitation now; if not, what the invitation turns into."""

    answerable: bool
    fallback: Unanswered | None = None


@public.get("/v1/chat/availability", response_model=Answerable)
async def availability(
    request: Request,
    engine: EngineDep,
    site: Annotated[str, Query(pattern=SITE_KEY_PATTERN, description="the public site key")],
) -> Response:
    """Polled by an agent invitation while it is on show: when every agent has gone (or the site has
    closed) since it was made, the card becomes the site's fallback (triggers/unanswered.py ``withdrawn``).
    Read from this worker's capacity snapshot: no store round trip."""
    config, origin = engine.sites.get(site), request.headers.get("origin")
    if config is None:
        return problem(401, "unknown_site", f"no site is configured with key {site!r}", "site")
    if not config.allows_origin(origin):
        return problem(403, "origin_not_allowed", "this origin may not read this site", "Origin")
    offer = withdrawn(config, engine.decider.availability.capacity(site), engine.now_ms())
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}
    body = Answerable(answerable=offer is None, fallback=offer)
    return json_response(body.model_dump(mode="json"), 200, headers | {"Cache-Control": "no-store"})


@public.websocket("/v1/chat/ws")
async def visitor_socket(
    socket: WebSocket, site: str, visitor: str, chat: str, last: int = 0, skill: str | None = None
) -> None:
    """The visitor's chat panel; ``chat`` is the invitation's id, ``last`` the last message id seen."""
    runtime: Chat = socket.app.state.chat
    config = socket.app.state.engine.sites.get(site)
    if config is None or not config.allows_origin(socket.headers.get("origin")):
        await socket.close(4403, "unknown site or origin not allowed")
        return
    await runtime.hub.visitor(socket, site, visitor, chat, last, skill)


@public.websocket("/v1/agent/ws")
async def agent_socket(socket: WebSocket) -> None:
    """The agent console; the first frame signs in: ``{"type": "hello", "token": ..., "last": {chat: id}}``."""
    await socket.app.state.chat.hub.agent(socket)


# -- the console page -----------------------------------------------------------------------------


@public.get("/agent", include_in_schema=False)
async def console() -> Response:
    return page_file(AGENT_DIR / "index.html")


@public.get("/agent/assets/{name}", include_in_schema=False)
async def console_asset(name: str) -> Response:
    if name not in CONSOLE_FILES:
        raise HTTPException(404)
    return page_file(AGENT_DIR / name)


router = APIRouter()
router.include_router(admin)
router.include_router(public)
