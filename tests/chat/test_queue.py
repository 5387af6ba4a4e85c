"""The queue (issue #18, the visitor): while every agent is busy, a waiting visitor is told about how long it
will take, in the order they began waiting, and may leave a message instead; the chat then ends so, and no
agent is offered it once a slot frees."""

from __future__ import annotations

from typing import Any

from api import Settings
from tests.chat.conftest import ORIGIN, Socket, serve


def _waiting_with_wait(frame: dict[str, Any]) -> bool:
    return frame["type"] == "state" and frame["state"] == "waiting" and "expected_wait_s" in frame


async def test_queue__agent_busy__each_waiting_visitor_told_their_wait_in_order(chat_settings: Settings) -> None:
    patient = chat_settings.model_copy(update={"chat_queue_wait_s": 30.0})
    async with serve(patient) as served:
        _, token = await served.agent_token("Ada", max_chats=1)
        agent = await served.agent(token)
        await served.taken(agent)

        first_id, first_chat = await served.invite()
        first = await served.visitor(first_id, first_chat)
        told_first = await first.until(_waiting_with_wait)
        second_id, second_chat = await served.invite()
        second = await served.visitor(second_id, second_chat)
        told_second = await second.until(_waiting_with_wait)

        average = served.app.state.engine.sites.get("demo").capacity.average_chat_s
        # One slot, freeing every average chat: the first waits one chat, the second two.
        assert told_first["expected_wait_s"] == average
        assert told_second["expected_wait_s"] == 2 * average
        assert 25 <= told_second["wait_limit_s"] <= 30 and told_second["leave_message"] is True
        # A second tab of the first visitor hears the same at once.
        again = await served.visitor(first_id, first_chat)
        opened = await again.until(lambda f: f["type"] == "state")
        assert (opened["state"], opened["expected_wait_s"]) == ("waiting", average)


async def test_queue__visitor_leaves_a_message_instead__chat_ends_so_and_is_never_offered(
    chat_settings: Settings,
) -> None:
    patient = chat_settings.model_copy(update={"chat_queue_wait_s": 30.0})
    async with serve(patient) as served:
        _, token = await served.agent_token("Ada", max_chats=1)
        agent = await served.agent(token)
        busy_chat = (await served.taken(agent)).chat

        visitor_id, waiting_chat = await served.invite()
        visitor: Socket = await served.visitor(visitor_id, waiting_chat)
        await visitor.until(_waiting_with_wait)
        async with served.http() as client:
            left = await client.post(
                "/v1/chat/offline",
                json={
                    "site": "demo",
                    "visitor": visitor_id,
                    "chat": waiting_chat,
                    "email": "ada@example.org",
                    "message": "Call me back about the kettle",
                },
                headers={"Origin": ORIGIN},
            )
            assert left.status_code == 201, left.text
            ended = await visitor.until(lambda f: f["type"] == "state" and f["state"] == "ended")
            assert (ended["ended_by"], ended["end_reason"]) == ("visitor", "left_message")
            record = (await client.get(f"/v1/admin/sites/demo/chats/{waiting_chat}")).json()
            assert (record["state"], record["started_ms"]) == ("ended", None)
            messages = (await client.get("/v1/admin/sites/demo/offline-messages")).json()
            assert [(m["chat"], m["message"]) for m in messages] == [(waiting_chat, "Call me back about the kettle")]

        # The slot frees: the agent is not offered the chat the visitor gave up waiting for.
        await agent.send(type="end", chat=busy_chat, stuck=True, resolved=True)
        await agent.nothing(lambda f: f["type"] == "offer", seconds=1.0)
