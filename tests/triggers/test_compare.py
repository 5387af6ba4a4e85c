"""The engine against the fixed-delay rule on the proving ground's traffic, at an equal number of invitations."""

from __future__ import annotations

import json

from click.testing import CliRunner

from api.compare_cli import main
from loadtests.proving import START_MS, WANTED, generate
from loadtests.proving.log import log_entries, traffic
from triggers.compare import compare


def test_traffic__same_seed__same_log() -> None:
    assert traffic(generate(30, 2, START_MS), "demo") == traffic(generate(30, 2, START_MS), "demo")
    assert traffic(generate(30, 2, START_MS), "demo").entries != traffic(generate(30, 3, START_MS), "demo").entries


def test_traffic__those_needing_help__have_onset_and_struggle_events() -> None:
    generated = traffic(generate(80, 4, START_MS), "demo")
    wanted = {session for session, truth in generated.truth.items() if truth.wanted}
    assert wanted and all(generated.truth[session].onset_ms is not None for session in wanted)
    assert {generated.truth[session].kind for session in wanted} <= WANTED
    kinds = {e["t"] for entry in generated.entries if entry["session"] in wanted for e in entry["events"]}
    assert {"form_error", "rage_click", "dead_click"} <= kinds


def test_log_entries__every_event_once__in_order_of_arrival() -> None:
    visits = generate(20, 6, START_MS)
    entries = log_entries(visits, "demo")
    assert [entry["received_ms"] for entry in entries] == sorted(entry["received_ms"] for entry in entries)
    assert {entry["site"] for entry in entries} == {"demo"}
    for visit in visits:
        logged = [e for entry in entries if entry["session"] == visit.session for e in entry["events"]]
        scripted = [(ms, event["t"]) for ms, event in visit.events]
        assert sorted((e["ts"], e["t"]) for e in logged if e["t"] != "heartbeat") == sorted(scripted)
        assert all(e["ts"] <= entry["received_ms"] for entry in entries for e in entry["events"])


def test_compare__engine_vs_fixed_delay__more_strugglers_sooner() -> None:
    result = compare(traffic(generate(150, 7, START_MS), "demo"), tick_s=2.0)
    engine = result["engine"]
    (fixed_name,) = [name for name in result if name.startswith("fixed_delay_")]
    fixed = result[fixed_name]
    assert abs(engine["invitations"] - fixed["invitations"]) <= max(2, engine["invitations"] // 10)
    assert engine["share_to_strugglers"] > fixed["share_to_strugglers"] + 0.3
    assert engine["onset_to_invite_s"]["median"] <= 15
    assert engine["invited_before_struggle_began"] == 0


def test_compare_cli__proving_ground_visitors__both_policies_as_json() -> None:
    result = CliRunner().invoke(main, ["--visitors", "60", "--seed", "3", "--tick", "5"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["traffic"]["visitors"] == 60 and output["traffic"]["seed"] == 3
    assert output["traffic"]["sessions"] == sum(output["traffic"]["kinds"].values()) >= 60
    assert output["engine"]["invitations"] > 0
    assert [name for name in output if name.startswith("fixed_delay_")]
