"""A flood of distinct visitor ids cannot exhaust the embedded store: max_visitors caps it.

50,000 visitors go through MemoryStore.ingest with max_visitors=20,000; resident memory grows by less
than a documented bound. ``python -m tests.reliability.test_memory_bound 1000000`` runs the same flood
with a million ids and the default cap (200,000) and prints the figures (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import gc
import sys

import psutil

from api.store import MemoryStore
from tests.factories import T0, ev, page, prepared

PER_VISITOR_BOUND_BYTES = 6_000
"""Generous: a visitor with one page view and a form error measures about 2-3 KiB in CPython."""


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


async def flood(visitors: int, max_visitors: int, log_entries: int = 1000) -> tuple[int, int]:
    """(visitors kept, RSS growth in bytes) after ``visitors`` distinct ids sent one batch each."""
    store = MemoryStore(max_visitors=max_visitors, log_entries=log_entries)
    start = rss()
    for n in range(visitors):
        await store.ingest(
            prepared(
                [page(T0, "/checkout"), ev("form_error", T0 + 1, field="zip")],
                visitor=f"v_flood{n:09d}",
                session=f"s_flood{n:09d}",
            )
        )
    return len(store._visitors), rss() - start


def test_memory_store__50k_distinct_visitors__capped_and_rss_bounded() -> None:
    kept, growth = asyncio.run(flood(50_000, max_visitors=20_000))
    assert kept == 20_000
    assert growth < 20_000 * PER_VISITOR_BOUND_BYTES, f"RSS grew {growth / 2**20:.0f} MiB"


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    kept, growth = asyncio.run(flood(count, max_visitors=200_000, log_entries=50_000))  # the defaults
    print(f"{count} visitors, {kept} kept, RSS +{growth / 2**20:.0f} MiB ({growth / kept:.0f} B per kept visitor)")
