"""What a worker's decisions see of capacity: only agent invitations hold back slots, on every store."""

from __future__ import annotations

from api.availability import Availability, reservations
from api.store import Store
from triggers.capacity import reserves_capacity

NOW_MS = 1_764_158_400_000
LATER_MS = NOW_MS + 120_000


def test_reserves_capacity__agent_only() -> None:
    assert reserves_capacity("agent")
    assert not reserves_capacity("bot")
    assert not reserves_capacity("offline")
    assert not reserves_capacity(None)


def test_reservations__legacy_entry_without_mode__reserves_as_before() -> None:
    assert reservations([{"acceptance": 0.4}]) == [0.4]


def test_reservations__unreadable_acceptance__holds_a_whole_slot_not_a_crash() -> None:
    assert reservations(
        [
            {"acceptance": "lots", "mode": "agent"},
            {"acceptance": None, "mode": "agent"},
            {"acceptance": 7.0, "mode": "agent"},
        ]
    ) == [1.0, 1.0, 1.0]


async def test_refresh__bot_and_offline_entries_in_the_store__reserve_nothing(store: Store) -> None:
    """Entries a worker of the previous release may still write (any mode) are read by mode."""
    await store.put_expiring("demo", "agents", "a_ada", {"status": "online", "max_chats": 3}, LATER_MS)
    await store.put_expiring("demo", "pending", "i_agent0001", {"acceptance": 0.5, "mode": "agent"}, LATER_MS)
    await store.put_expiring("demo", "pending", "i_bot000001", {"acceptance": 0.9, "mode": "bot"}, LATER_MS)
    await store.put_expiring("demo", "pending", "i_offline01", {"acceptance": 0.9, "mode": "offline"}, LATER_MS)
    availability = Availability(store, lambda: ["demo"], clock=lambda: NOW_MS / 1000)

    await availability.refresh_all()

    snapshot = availability.capacity("demo")
    assert [agent.id for agent in snapshot.agents] == ["a_ada"]
    assert snapshot.pending_invites == [0.5]
