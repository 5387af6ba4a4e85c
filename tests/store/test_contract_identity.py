"""Who the visitor is, as the site says (``identify`` events), on every store: kept with the visitor, the
latest call winning in any arrival order, forgotten on a reset and by per-visitor deletion, never in the log."""

from __future__ import annotations

from typing import Any

from api.chat.context import visitor_context
from api.store import RedisStore, Store, VisitorLog
from tests.factories import T0, ev, page, prepared
from tracker.identity import identity_of

VISITOR = "v_visitor01"
NAME, EMAIL = "Ada Zq7marker Lovelace", "ada.zq7marker@example.com"
MARKER = "zq7marker"


def identify(ts: int, **person: str) -> dict[str, Any]:
    return ev("identify", ts, **person)


async def who(store: VisitorLog, visitor: str = VISITOR) -> dict[str, str] | None:
    _, record = await store.load_visitor("demo", visitor)
    return identity_of(record)


async def raw_values(store: Store) -> list[bytes]:
    """Every value the Redis store holds under its prefix, whatever the key's type."""
    assert isinstance(store, RedisStore)
    client: Any = store.client
    values: list[bytes] = []
    async for key in client.scan_iter(match=f"{store.prefix}*", count=1000):
        kind = (await client.type(key)).decode()
        if kind == "hash":
            values += [v for pair in (await client.hgetall(key)).items() for v in pair]
        elif kind == "stream":
            values += [v for _, fields in await client.xrange(key) for pair in fields.items() for v in pair]
        elif kind == "string":
            values.append(await client.get(key))
        elif kind == "zset":
            values += await client.zrange(key, 0, -1)
        elif kind == "list":
            values += await client.lrange(key, 0, -1)
        elif kind == "set":
            values += list(await client.smembers(key))
    return values


async def test_identify__name_and_email__kept_with_the_visitor_and_in_the_agents_context(store: VisitorLog) -> None:
    await store.ingest(prepared([page(T0, "/account"), identify(T0 + 10, name=NAME, email=EMAIL)]))

    assert await who(store) == {"name": NAME, "email": EMAIL}
    context = await visitor_context(store, "demo", VISITOR, T0 + 1000)
    assert context["identity"] == {"name": NAME, "email": EMAIL}


async def test_identify__later_session__still_known(store: VisitorLog) -> None:
    await store.ingest(prepared([identify(T0, email=EMAIL)]))
    await store.ingest(prepared([page(T0 + 3_600_000, "/")], session="s_session02"))

    assert await who(store) == {"email": EMAIL}


async def test_identify__batches_out_of_order__the_latest_call_wins(store: VisitorLog) -> None:
    newer = prepared([identify(T0 + 5000, name="Ada King", email="ada.king@example.com")], sent_at=T0 + 5000)
    older = prepared([identify(T0, name=NAME, email=EMAIL)], sent_at=T0)
    await store.ingest(newer)
    await store.ingest(older)  # a beacon from an earlier page, delivered late

    assert await who(store) == {"name": "Ada King", "email": "ada.king@example.com"}


async def test_identify__reset__forgotten_and_a_late_older_call_does_not_bring_it_back(store: VisitorLog) -> None:
    await store.ingest(prepared([identify(T0, name=NAME, email=EMAIL)], sent_at=T0))
    await store.ingest(prepared([identify(T0 + 2000)], sent_at=T0 + 2000))  # tactful('identify', null): logout
    assert await who(store) is None
    assert (await visitor_context(store, "demo", VISITOR, T0 + 3000))["identity"] is None

    await store.ingest(prepared([identify(T0 + 1000, name=NAME)], sent_at=T0 + 1000))
    assert await who(store) is None


async def test_identify__opt_out_just_after__forgotten_in_any_arrival_order(store: VisitorLog) -> None:
    """``consent(false)`` right after an identify: the refusal's beacon may carry both, or arrive first."""
    opt_out = ev("custom", T0 + 50, name="tactful.opt_out")
    await store.ingest(prepared([identify(T0, name=NAME, email=EMAIL), opt_out], sent_at=T0 + 50))
    assert await who(store) is None

    late = "v_visitor02"
    await store.ingest(prepared([opt_out], visitor=late, sent_at=T0 + 50))
    await store.ingest(prepared([identify(T0, name=NAME, email=EMAIL)], visitor=late, sent_at=T0))
    assert await who(store, late) is None

    await store.ingest(prepared([identify(T0 + 5000, email=EMAIL)], visitor=late, sent_at=T0 + 5000))
    assert await who(store, late) == {"email": EMAIL}  # identified again after consenting again


async def test_identify__event_log__keeps_the_call_never_the_name_or_address(store: Store) -> None:
    await store.ingest(prepared([page(T0, "/account"), identify(T0 + 10, name=NAME, email=EMAIL)]))

    (entry,) = await store.read_log("demo")
    assert entry.events[1] == {"t": "identify", "ts": T0 + 10}
    if isinstance(store, RedisStore):  # nowhere but the visitor's own record
        holding = [value for value in await raw_values(store) if MARKER.encode() in value]
        assert len(holding) == 1 and holding[0].startswith(str(T0 + 10).encode() + b"|"), holding


async def test_identify__forget_visitor__name_and_address_gone_everywhere(store: Store) -> None:
    await store.ingest(prepared([page(T0, "/account"), identify(T0 + 10, name=NAME, email=EMAIL)]))
    await store.ingest(prepared([identify(T0, name="Bo Other")], visitor="v_visitor02"))
    assert await who(store) is not None  # the test can fail: it was there

    await store.forget_visitor("demo", VISITOR)

    assert await who(store) is None
    assert await who(store, "v_visitor02") == {"name": "Bo Other"}
    assert not [entry for entry in await store.read_log("demo") if entry.visitor == VISITOR]
    if isinstance(store, RedisStore):
        assert not [value for value in await raw_values(store) if MARKER.encode() in value]
