"""The documented deletion endpoint removes all of a visitor's data, on both stores; per-visitor keys expire."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api import Settings, create_app
from tests.api.shopping import ORIGIN
from tests.factories import DESIGN_EXAMPLE

TOKEN = "privacy-test-admin-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
GONE, KEPT = "v_forgetme0001", "v_keepme00001"


def visit(client: TestClient, visitor: str) -> None:
    now = int(time.time() * 1000)
    events = [{"t": "page_view", "ts": now, "path": "/checkout"}, {"t": "form_error", "ts": now, "field": "zip"}]
    body = DESIGN_EXAMPLE | {"visitor": visitor, "sent_at": now, "events": events}
    assert client.post("/v1/collect", json=body, headers={"origin": ORIGIN}).status_code == 200


async def seed(store: Any, visitor: str, invite: str) -> None:
    """What the engine and the chat keep about an invited visitor who chatted."""
    far = int(time.time() * 1000) + 3_600_000
    await store.put_expiring("demo", "pool", visitor, {"score": 0.5}, far)
    await store.put_expiring("demo", "invites", invite, {"visitor": visitor, "session": "s_9f8e7d6c"}, far)
    await store.put_expiring("demo", "pending", invite, {"acceptance": 0.5}, far)
    await store.append_journal("demo", [{"ts": far - 3_600_000, "v": visitor, "s": "s_9f8e7d6c", "st": 1}])
    await store.put_record("demo", "chat", invite, {"id": invite, "visitor": visitor, "created_ms": 1})
    await store.append_entry("demo", f"m:{invite}", {"from": "visitor", "text": "my address is ..."})


async def holdings(store: Any, visitor: str, invite: str) -> dict[str, Any]:
    session, record = await store.load_visitor("demo", visitor)
    return {
        "session": session,
        "visitor": record,
        "pool": visitor in await store.read_expiring("demo", "pool", 0),
        "invites": invite in await store.read_expiring("demo", "invites", 0),
        "pending": invite in await store.read_expiring("demo", "pending", 0),
        "log": any(entry.visitor == visitor for entry in await store.read_log("demo")),
        "journal": any(r["v"] == visitor for r in await store.read_journal("demo", 0, 2**53)),
        "chat": await store.get_record("demo", "chat", invite) is not None,
        "messages": bool(await store.read_entries("demo", f"m:{invite}")),
    }


def test_forget_visitor__endpoint__every_record_of_that_visitor_gone_and_others_kept(app_settings: Settings) -> None:
    app = create_app(app_settings.model_copy(update={"admin_token": TOKEN}))
    with TestClient(app) as client:
        store = app.state.engine.store
        portal = client.portal
        assert portal is not None  # set while the client is open
        for visitor, invite in ((GONE, "i_forget0001"), (KEPT, "i_keep000001")):
            visit(client, visitor)
            portal.call(seed, store, visitor, invite)
        before = portal.call(holdings, store, GONE, "i_forget0001")
        assert all(before.values()), before  # the test can fail: everything was there

        assert client.delete(f"/v1/admin/sites/demo/visitors/{GONE}").status_code == 401
        response = client.delete(f"/v1/admin/sites/demo/visitors/{GONE}", headers=ADMIN)
        assert response.status_code == 200 and response.json()["deleted"]["chats"] == 1

        after = portal.call(holdings, store, GONE, "i_forget0001")
        assert not any(after.values()), after
        kept = portal.call(holdings, store, KEPT, "i_keep000001")
        assert all(kept.values()), kept


def test_forget_visitor__memory_store_file_mirror__visitor_lines_removed(tmp_path: Any) -> None:
    settings = Settings(public_url=ORIGIN, data_dir=tmp_path, admin_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        visit(client, GONE)
        visit(client, KEPT)
        assert client.delete(f"/v1/admin/sites/demo/visitors/{GONE}", headers=ADMIN).status_code == 200
    text = (tmp_path / "events.jsonl").read_text()
    assert GONE not in text and KEPT in text


@pytest.mark.redis
def test_redis__per_visitor_keys_expire_and_streams_are_capped(redis_url: str, key_prefix: str) -> None:
    settings = Settings(
        public_url=ORIGIN, redis_url=redis_url, redis_prefix=key_prefix, redis_shards=2, admin_token=TOKEN
    )
    with TestClient(create_app(settings)) as client:
        visit(client, GONE)
    with redis.Redis.from_url(redis_url) as raw:
        keys = [key.decode() for key in raw.scan_iter(match=f"{key_prefix}:*", count=1000)]
        visitor_keys = [key for key in keys if key.endswith(f":{GONE}")]
        assert len(visitor_keys) == 2
        assert all(0 < raw.pttl(key) <= 30 * 24 * 3600 * 1000 for key in visitor_keys)
        counters = [key for key in keys if ":n:" in key]
        assert counters and all(raw.pttl(key) > 0 for key in counters)
        for key in keys:
            if raw.type(key) == b"stream":  # every stream is capped: the log by MAXLEN, labels likewise
                assert raw.xlen(key) <= 100_000
        for key in keys:
            raw.delete(key)
