"""The decision journal: which stage a decision reached, and that a session writes only its advances."""

from __future__ import annotations

from typing import Any

import pytest

from api.analytics.journal import CANDIDATE, ELIGIBLE, ENGAGED, DecisionJournal, stage_of
from api.store import MemoryStore
from triggers import Decision, SiteConfig

CONFIG = SiteConfig(site="demo")  # threshold 0.6
T0 = 1_764_158_400_000


def _decision(*reasons: str, score: float = 0.7, **fields: Any) -> Decision:
    return Decision(
        action=fields.pop("action", "none"),
        score=score,
        reasons=list(reasons),
        group=fields.pop("group", "rollout"),
        propensity=1.0,
        **fields,
    )


@pytest.mark.parametrize(
    ("reasons", "score", "stage"),
    [
        (["too_early", "below_threshold"], 0.1, 0),
        (["too_few_pages"], 0.9, 0),
        (["cap_reached"], 0.9, ENGAGED),
        (["excluded_path", "below_threshold"], 0.2, ENGAGED),
        (["below_threshold"], 0.3, CANDIDATE),
        (["not_sustained"], 0.7, CANDIDATE),
        (["holdout"], 0.7, ELIGIBLE),
        (["no_capacity"], 0.7, ELIGIBLE),
        (["explored"], 0.1, CANDIDATE),  # invited to learn, below the threshold: not eligible
        (["score_above_threshold", "form_errors"], 0.7, ELIGIBLE),
    ],
)
def test_stage_of__reason_codes__furthest_stage(reasons: list[str], score: float, stage: int) -> None:
    assert stage_of(_decision(*reasons, score=score), CONFIG.timing.score_threshold) == stage


async def test_journal__repeated_decisions__one_record_per_advance() -> None:
    store = MemoryStore()
    journal = DecisionJournal(store)
    note = journal.note
    note(CONFIG, "v_journal01", "s_1", "/", _decision("too_early"), T0)  # not engaged: nothing
    for n in range(5):
        note(CONFIG, "v_journal01", "s_1", "/cart", _decision("below_threshold", score=0.30), T0 + n)
    note(CONFIG, "v_journal01", "s_1", "/cart", _decision("below_threshold", score=0.31), T0 + 10)  # same step
    note(CONFIG, "v_journal01", "s_1", "/cart", _decision("below_threshold", score=0.45), T0 + 20)  # higher step
    note(
        CONFIG,
        "v_journal01",
        "s_1",
        "/checkout",
        _decision(
            "score_above_threshold", action="invite", mode="agent", invite="i_journal01", variant="hand", score=0.7
        ),
        T0 + 30,
    )
    note(CONFIG, "v_journal01", "s_2", "/", _decision("below_threshold", score=0.2), T0 + 40)  # new session

    await journal.flush()

    records = await store.read_journal("demo", 0, T0 * 2)
    assert [(r["s"], r["st"], r.get("sc"), r.get("i")) for r in records] == [
        ("s_1", CANDIDATE, 0.3, None),
        ("s_1", CANDIDATE, 0.45, None),
        ("s_1", ELIGIBLE, 0.7, "i_journal01"),
        ("s_2", CANDIDATE, 0.2, None),
    ]
    assert records[2] == {
        "ts": T0 + 30,
        "v": "v_journal01",
        "s": "s_1",
        "g": "rollout",
        "st": ELIGIBLE,
        "r": "score_above_threshold",
        "p": "/checkout",
        "sc": 0.7,
        "i": "i_journal01",
        "var": "hand",
        "m": "agent",
    }
    await journal.flush()
    assert len(await store.read_journal("demo", 0, T0 * 2)) == 4
