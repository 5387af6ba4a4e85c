"""Labelled feature rows from the proving ground's visitors, for the scorer checks, the scoring tests and the
model benchmark.

Each counted visit is folded through the real tracker (``tracker.events.fold`` of the batches the tracker
would send, ``ground.batches``), after the visitor's earlier visit when they are returning, and its features
are extracted (``tracker.features.extract``) at one of its collect moments, drawn at random: the moment an
invitation could have been shown. The label is the visit's truth at that moment (``ground.acceptance``: who
needs help and takes it while struggling, rarely anyone else), drawn with the same seeded generator. The model
never sees the persona, only what its events left, which is what it will see on a real site.
"""

from __future__ import annotations

import random

import msgspec

from loadtests.proving import START_MS
from loadtests.proving.ground import acceptance, batches
from loadtests.proving.personas import MIX, WANTED, Visit, generate
from scoring.base import Example
from tracker import protocol as p
from tracker.events import fold
from tracker.features import extract
from tracker.session import start_session

RARE_MIX = {kind: share / 4 if kind in WANTED else share for kind, share in MIX.items()}
"""The proving ground's mix with a quarter as many visitors needing help: positives are rarer."""


def rows(visits: list[Visit], seed: int) -> list[Example]:
    """One labelled row per counted (not earlier) visit, in order of arrival."""
    rng = random.Random(seed)
    records: dict[str, dict[str, str]] = {}
    out: list[Example] = []
    for visit in sorted(visits, key=lambda visit: visit.arrive_ms):
        record = records.setdefault(visit.visitor, {})
        session = start_session(visit.session, record)
        planned = batches(visit)
        at = len(planned) if visit.prelude else rng.randrange(len(planned))
        for index, (ms, events) in enumerate(planned):
            fold(session, record, [(msgspec.convert(event, p.Event), event["ts"]) for event in events])
            if index == at:
                out.append((extract(session, record, ms), rng.random() < acceptance(visit, ms)))
                break
    return out


def examples(count: int, seed: int = 0, mix: dict[str, float] | None = None) -> list[Example]:
    """``count`` labelled rows from as many proving-ground visits; the same seed gives the same rows."""
    return rows(generate(count, seed, START_MS, mix=mix), seed)


def base_rate(labelled: list[Example]) -> float:
    return sum(label for _, label in labelled) / max(1, len(labelled))
