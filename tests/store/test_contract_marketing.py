"""Store contract for the marketer features (#7): config versions, the decision journal, load samples.

Every test runs on MemoryStore and on RedisStore against a real Redis.
"""

from __future__ import annotations

from typing import Any

from api.store import Journal, SiteConfigs
from api.store.base import LOAD_SAMPLE_MS

T0 = 1_764_158_400_000


def _document(version: int, threshold: float = 0.6) -> dict[str, Any]:
    return {"site": "demo", "version": version, "timing": {"score_threshold": threshold}}


async def test_config_version__saved__becomes_the_site_config_and_is_listed(store: SiteConfigs) -> None:
    meta = {"author": "ann", "at_ms": T0, "note": "", "changes": [{"path": "timing.score_threshold"}]}

    assert await store.save_config_version("demo", 2, _document(2, 0.5), meta)

    assert await store.get_site_config("demo") == _document(2, 0.5)
    assert "demo" in await store.list_sites()
    assert await store.config_versions("demo") == [{**meta, "version": 2}]
    assert await store.config_version("demo", 2) == {**meta, "version": 2, "document": _document(2, 0.5)}


async def test_config_version__number_taken__refused_and_nothing_changes(store: SiteConfigs) -> None:
    await store.save_config_version("demo", 2, _document(2, 0.5), {"author": "ann"})

    assert not await store.save_config_version("demo", 2, _document(2, 0.9), {"author": "bob"})

    assert await store.get_site_config("demo") == _document(2, 0.5)
    assert [v["author"] for v in await store.config_versions("demo")] == ["ann"]


async def test_config_versions__listed_oldest_first_per_site(store: SiteConfigs) -> None:
    for version in (3, 1, 2, 10):
        await store.save_config_version("demo", version, _document(version), {"author": f"a{version}"})
    await store.save_config_version("other", 1, {"site": "other", "version": 1}, {"author": "x"})

    assert [v["version"] for v in await store.config_versions("demo")] == [1, 2, 3, 10]
    assert await store.config_version("demo", 4) is None
    assert await store.config_versions("nobody") == []


async def test_journal__read_by_window__oldest_first(store: Journal) -> None:
    records = [{"ts": T0 + offset, "v": f"v_{offset:08d}", "st": 1} for offset in (500, 0, 2000, 1000)]
    await store.append_journal("demo", records[:2])
    await store.append_journal("demo", records[2:])
    await store.append_journal("other", [{"ts": T0, "v": "v_other0001"}])

    window = await store.read_journal("demo", T0 + 500, T0 + 1000)

    assert [r["ts"] for r in window] == [T0 + 500, T0 + 1000]
    assert window[0] == records[0]
    assert len(await store.read_journal("demo", 0, T0 * 2)) == 4


async def test_load_samples__one_per_minute__later_sample_replaces(store: Journal) -> None:
    minute = T0 - T0 % LOAD_SAMPLE_MS
    await store.put_load_sample("demo", minute + 1000, {"slots": 3, "active": 1})
    await store.put_load_sample("demo", minute + 30_000, {"slots": 3, "active": 2})
    await store.put_load_sample("demo", minute + LOAD_SAMPLE_MS, {"slots": 6, "active": 0})

    samples = await store.read_load_samples("demo", minute, minute + 10 * LOAD_SAMPLE_MS)

    assert samples == [
        {"slots": 3, "active": 2, "at_ms": minute},
        {"slots": 6, "active": 0, "at_ms": minute + LOAD_SAMPLE_MS},
    ]
    assert await store.read_load_samples("demo", minute + 2 * LOAD_SAMPLE_MS, minute + 3 * LOAD_SAMPLE_MS) == []
