"""What the dashboard's Team tab does through the admin API, on both stores: an agent's capacity changed
(routing uses it at once, not at the console's next heartbeat), a new token (the console signed in with
the old one is closed), and the errors an admin can make, each naming its field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from api import Settings
from tests.chat.conftest import Served, serve


@pytest.fixture
async def slow_heartbeat(chat_settings: Settings) -> AsyncIterator[Served]:
    """A console rewrites its presence every 30 s here: whatever changes sooner was not its heartbeat."""
    settings = chat_settings.model_copy(
        update={"agent_heartbeat_s": 30.0, "agent_presence_ttl_s": 60.0, "chat_queue_wait_s": 10.0}
    )
    async with serve(settings) as running:
        yield running


def _offer(chat: str) -> Any:
    return lambda frame: frame["type"] == "offer" and frame["chat"]["id"] == chat


async def test_change_capacity__agent_full__waiting_chat_offered_at_once(slow_heartbeat: Served) -> None:
    served = slow_heartbeat
    ada_id, token = await served.agent_token("Ada", max_chats=1)
    ada = await served.agent(token)
    await served.taken(ada)
    visitor_id, second = await served.invite()
    waiting = await served.visitor(visitor_id, second)
    await waiting.until(lambda f: f["type"] == "state" and f["state"] == "waiting")  # Ada is full
    await ada.nothing(_offer(second), seconds=0.5)

    async with served.http() as admin:
        response = await admin.patch(f"/v1/admin/sites/demo/agents/{ada_id}", json={"max_chats": 2})
        assert response.status_code == 200, response.text
        assert response.json()["max_chats"] == 2 and "token_sha256" not in response.json()
        # What routing reads, rewritten before the answer came: no heartbeat has run since Ada signed in.
        presence = await served.store.read_expiring("demo", "agents", served.app.state.engine.now_ms())
        assert presence[ada_id]["max_chats"] == 2
        await ada.until(_offer(second), timeout=2.0)
        listed = (await admin.get("/v1/admin/sites/demo/agents")).json()
    assert [(a["presence"], a["max_chats"]) for a in listed if a["id"] == ada_id] == [("online", 2)]
    await served.decider_settled()
    [online] = served.app.state.engine.decider.availability.capacity("demo").agents
    assert (online.id, online.max_chats) == (ada_id, 2)


async def test_change_capacity__lowered_below_the_load__keeps_chats_offers_nothing_more(served: Served) -> None:
    ada_id, token = await served.agent_token("Ada", max_chats=3)
    ada = await served.agent(token)
    first = (await served.taken(ada)).chat
    async with served.http() as admin:
        assert (await admin.patch(f"/v1/admin/sites/demo/agents/{ada_id}", json={"max_chats": 1})).status_code == 200
    await ada.until(lambda f: f["type"] == "load" and (f["active"], f["max"]) == (1, 1))  # "1 of 1 chats"
    assert await served.chat.service.state("demo", first) == f"active:{ada_id}"
    visitor_id, second = await served.invite()
    await served.visitor(visitor_id, second)
    await ada.nothing(_offer(second), seconds=0.8)


async def test_change_capacity__offline_agent__stored_and_used_when_they_sign_in(served: Served) -> None:
    ada_id, token = await served.agent_token("Ada", max_chats=3)
    async with served.http() as admin:
        assert (await admin.patch(f"/v1/admin/sites/demo/agents/{ada_id}", json={"max_chats": 5})).status_code == 200
        listed = (await admin.get("/v1/admin/sites/demo/agents")).json()
    assert [(a["presence"], a["max_chats"]) for a in listed if a["id"] == ada_id] == [("offline", 5)]
    ada = await served.agent(token)
    await ada.until(lambda f: f["type"] == "load" and (f["active"], f["max"]) == (0, 5))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_chats": 0}, "max_chats"),
        ({"max_chats": 51}, "max_chats"),
        ({"max_chats": "three"}, "max_chats"),
        ({}, "max_chats"),
        ({"max_chats": 2, "capacity": 2}, "capacity"),
    ],
)
async def test_change_capacity__bad_value__422_naming_the_field(
    served: Served, body: dict[str, Any], field: str
) -> None:
    ada_id, _ = await served.agent_token("Ada", max_chats=3)
    async with served.http() as admin:
        response = await admin.patch(f"/v1/admin/sites/demo/agents/{ada_id}", json=body)
        agents = (await admin.get("/v1/admin/sites/demo/agents")).json()
    assert (response.status_code, response.json()["field"]) == (422, field)
    assert [a["max_chats"] for a in agents if a["id"] == ada_id] == [3]  # nothing changed


async def test_change_capacity__unknown_agent_or_site__404_naming_it(served: Served) -> None:
    async with served.http() as admin:
        agent = await admin.patch("/v1/admin/sites/demo/agents/a_000000000000", json={"max_chats": 2})
        site = await admin.patch("/v1/admin/sites/nosuchsite/agents/a_000000000000", json={"max_chats": 2})
    assert (agent.status_code, agent.json()["error"], agent.json()["field"]) == (404, "unknown_agent", "agent_id")
    assert (site.status_code, site.json()["field"]) == (404, "site")


async def test_new_token__console_on_the_old_one_closed__new_one_signs_in(served: Served) -> None:
    ada_id, old = await served.agent_token("Ada")
    console = await served.agent(old)
    async with served.http() as admin:
        response = await admin.post(f"/v1/admin/sites/demo/agents/{ada_id}/token")
    new = response.json()["token"]
    assert response.status_code == 200 and new != old
    with pytest.raises(ConnectionClosed):
        await console.until(lambda f: False, timeout=3.0)  # closed within a heartbeat
    assert await served.chat.agents.authenticate(old) is None
    await served.agent(new)  # signed in: its hello came
