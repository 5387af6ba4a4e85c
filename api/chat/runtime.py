"""Everything the chat needs in one process, started and stopped with the app."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import click

from api.chat.agents import AgentDirectory, AgentIn
from api.chat.service import ChatService
from api.chat.sockets import ChatHub
from api.chat.transcripts import Transcripts
from api.chat.webhooks import Webhooks
from api.periodic import Periodic
from api.settings import Settings
from api.store import Store
from api.store.bus import ChatBus
from triggers.config import SiteConfig

DEMO_AGENT = "Demo agent"
WEBHOOK_EVERY_S = 0.5


@dataclass
class Chat:
    store: Store
    bus: ChatBus
    agents: AgentDirectory
    service: ChatService
    hub: ChatHub
    transcripts: Transcripts
    webhooks: Webhooks
    jobs: list[Periodic]

    async def stop(self) -> None:
        for job in self.jobs:
            await job.stop()
        await self.hub.stop()
        await self.bus.close()


async def start_chat(
    store: Store,
    settings: Settings,
    sites: Callable[[], list[str]],
    configs: Callable[[str], SiteConfig | None],
    clock: Callable[[], float] = time.time,
) -> Chat:
    bus = store.chat_bus()
    await bus.start()
    agents = AgentDirectory(store)
    webhooks = Webhooks(store, settings.webhook_backoff_s, settings.webhook_max_attempts, clock=clock)
    service = ChatService(store, bus, agents, webhooks, settings, configs, clock=clock)
    transcripts = Transcripts(service, settings.transcript_retention_days)

    async def sweep() -> None:
        for site in sites():
            await transcripts.sweep(site, int(clock() * 1000))

    async def deliver() -> None:
        await webhooks.deliver_all(sites())

    jobs = [
        Periodic("webhooks", deliver, WEBHOOK_EVERY_S),
        Periodic("transcript retention", sweep, settings.transcript_sweep_s),
    ]
    for job in jobs:
        job.start()
    hub = ChatHub(store, bus, service, agents, settings)
    chat = Chat(store, bus, agents, service, hub, transcripts, webhooks, jobs)
    if settings.demo and store.process_local and "demo" in sites():
        await demo_agent(chat, settings, int(clock() * 1000))
    return chat


async def demo_agent(chat: Chat, settings: Settings, now_ms: int) -> str:
    """First run: an agent for the demo site, and the link that signs them in (printed)."""
    existing = [a for a in await chat.agents.all("demo") if a["name"] == DEMO_AGENT]
    if existing:
        token = await chat.agents.rotate("demo", existing[0]["id"]) or ""
    else:
        _, token = await chat.agents.create("demo", AgentIn(name=DEMO_AGENT), now_ms)
    click.echo(
        f"Agent console for the demo site: {settings.public_url}/agent#token={token}\n"
        f"  Open it beside {settings.public_url}/demo and struggle on the checkout to see a chat arrive."
    )
    return token
