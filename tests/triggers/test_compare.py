"""The engine against the fixed-delay rule on generated traffic, at an equal number of invitations."""

from __future__ import annotations

from triggers.compare import compare
from triggers.traffic import generate


def test_traffic__same_seed__same_log() -> None:
    assert generate(30, seed=2) == generate(30, seed=2)
    assert generate(30, seed=2).entries != generate(30, seed=3).entries


def test_traffic__strugglers__have_onset_and_struggle_events() -> None:
    traffic = generate(80, seed=4)
    strugglers = {t.visitor for t in traffic.truth.values() if t.persona == "struggler"}
    assert strugglers and all(traffic.truth[v].onset_ms is not None for v in strugglers)
    kinds = {e["t"] for entry in traffic.entries if entry["visitor"] in strugglers for e in entry["events"]}
    assert {"form_error", "rage_click"} <= kinds


def test_compare__engine_vs_fixed_delay__more_strugglers_sooner() -> None:
    result = compare(visitors=150, seed=7, tick_s=2.0)
    engine = result["engine"]
    (fixed_name,) = [name for name in result if name.startswith("fixed_delay_")]
    fixed = result[fixed_name]
    assert abs(engine["invitations"] - fixed["invitations"]) <= max(2, engine["invitations"] // 10)
    assert engine["share_to_strugglers"] > fixed["share_to_strugglers"] + 0.3
    assert engine["onset_to_invite_s"]["median"] <= 15
    assert engine["invited_before_struggle_began"] == 0
