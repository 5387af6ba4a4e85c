"""The proving ground's visits as an event log, with the ground truth the log cannot hold.

``log_entries`` writes what the event log would hold had the visits come through ``collect``: one entry per
batch the tracker sends (``ground.batches``: urgent events at once, the rest with the five-second flush, a
heartbeat every fifteen seconds), shaped as ``api.store.LogEntry`` and as ``triggers.replay`` reads it.
``traffic`` adds who needed help and when their struggle began, for ``triggers.compare``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loadtests.proving.ground import batches
from loadtests.proving.personas import Visit
from triggers.compare import Traffic, Truth


def log_entries(visits: Iterable[Visit], site: str) -> list[dict[str, Any]]:
    """Every batch of ``visits`` as a log entry of ``site``, in order of arrival."""
    entries = [
        {"site": site, "visitor": visit.visitor, "session": visit.session, "received_ms": ms, "events": events}
        for visit in visits
        for ms, events in batches(visit)
    ]
    entries.sort(key=lambda entry: (entry["received_ms"], entry["visitor"]))
    return entries


def traffic(visits: list[Visit], site: str) -> Traffic:
    """The visits' log and, per session, its truth: its kind, whether it needs help, when struggle began."""
    truth = {
        visit.session: Truth(visit.visitor, visit.session, visit.kind, visit.arrive_ms, visit.onset_ms, visit.wanted)
        for visit in visits
    }
    return Traffic(log_entries(visits, site), truth)
