"""GET /v1/chat/availability, which an agent invitation on show polls: answerable while an agent is online,
else the site's fallback, in the shape docs/protocol.md shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from api.chat.routes import Answerable
from tests.api.shopping import ORIGIN
from tests.chat.conftest import Served

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


async def _ask(served: Served, site: str = "demo", origin: str = ORIGIN) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url) as client:
        return await client.get("/v1/chat/availability", params={"site": site}, headers={"Origin": origin})


async def test_availability__agent_online_then_gone__answerable_then_the_fallback(served: Served) -> None:
    _, token = await served.agent_token("Ada")
    agent = await served.agent(token)
    await served.wait_capacity(lambda capacity: len(capacity.agents) == 1)
    online = await _ask(served)
    assert online.status_code == 200 and online.json() == {"answerable": True, "fallback": None}
    assert online.headers["access-control-allow-origin"] == ORIGIN
    await agent.close()
    await served.wait_capacity(lambda capacity: not capacity.agents)
    gone = (await _ask(served)).json()
    assert gone["answerable"] is False
    assert gone["fallback"]["mode"] == "bot" and gone["fallback"]["leave_message"] is True
    assert all(not item.get("handoff") for item in gone["fallback"]["menu"]["items"])


async def test_availability__unknown_site_or_foreign_origin__401_and_403_naming_the_field(served: Served) -> None:
    unknown = await _ask(served, site="nosuchsite")
    assert (unknown.status_code, unknown.json()["field"]) == (401, "site")
    foreign = await _ask(served, origin="https://elsewhere.example")
    assert (foreign.status_code, foreign.json()["error"]) == (403, "origin_not_allowed")
    malformed = await _ask(served, site="no spaces")
    assert (malformed.status_code, malformed.json()["field"]) == (422, "site")


def test_availability__the_documented_example__is_a_valid_answer() -> None:
    text = PROTOCOL.read_text("utf-8")
    section = text[text.index("### Whether an agent invitation still stands") :]
    example = re.search(r"```json\n(.*?)```", section, re.S)
    assert example is not None
    answer = Answerable.model_validate(json.loads(example.group(1)))
    assert answer.answerable is False and answer.fallback is not None and answer.fallback.mode == "bot"
