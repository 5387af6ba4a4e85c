"""What-if replay: deterministic, respects capacity, and tells invitations from reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.replay_cli import replay_command
from loadtests.proving import START_MS, generate
from loadtests.proving.log import traffic as proving_traffic
from triggers import SiteConfig
from triggers.compare import Moment, Traffic, comparison_config, fixed_delay, fixed_delay_invitations, observe
from triggers.replay import ReplayOptions, ReplayProgress, replay
from triggers.standin import struggle_explain, struggle_score

T0 = 1_748_858_400_000  # Monday 2025-06-02 10:00 UTC
CROWDED = {"checkout_struggler": 0.3, "search_lost": 0.15, "broken_page": 0.15, "reader": 0.2, "browser": 0.2}
"""Six in ten visitors need help: more than one agent can take."""


def _traffic(visitors: int, seed: int, per_hour: float = 1800.0, mix: dict[str, float] | None = None) -> Traffic:
    """The proving ground's visitors as the demo site's event log."""
    return proving_traffic(generate(visitors, seed, START_MS, per_hour, mix), "demo")


def _entry(visitor: str, events: list[dict[str, Any]], site: str = "demo") -> dict[str, Any]:
    return {
        "site": site,
        "visitor": visitor,
        "session": f"s_{visitor}",
        "received_ms": max(e["ts"] for e in events),
        "events": events,
    }


def _struggler_and_reader() -> list[dict[str, Any]]:
    entries = []
    for visitor in ("v_struggler", "v_reader01"):
        entries.append(_entry(visitor, [{"t": "page_view", "ts": T0, "path": "/demo/checkout"}]))
        for second in range(5, 90, 5):
            ts = T0 + second * 1000
            events: list[dict[str, Any]] = [{"t": "heartbeat", "ts": ts, "visible": True}]
            if visitor == "v_struggler" and second in (30, 35, 40):
                events += [
                    {"t": "form_error", "ts": ts, "field": "postcode"},
                    {"t": "rage_click", "ts": ts, "count": 4},
                ]
            entries.append(_entry(visitor, events))
    return sorted(entries, key=lambda entry: entry["received_ms"])


def _config(**changes: Any) -> SiteConfig:
    return comparison_config().model_copy(update=changes)


def test_replay__struggler_and_reader__only_struggler_invited_soon_after_onset() -> None:
    report = replay(_struggler_and_reader(), _config(), struggle_score, explain=struggle_explain)
    assert [i.visitor for i in report.invitations] == ["v_struggler"]
    invitation = report.invitations[0]
    assert 30_000 <= invitation.at_ms - T0 <= 40_000
    assert "score_above_threshold" in invitation.reasons
    summary = report.summary()
    assert summary["invitations"] == 1 and summary["invitations_by_mode"] == {"agent": 1}
    assert summary["sessions_not_invited_by_reason"] == {"below_threshold": 1}
    assert summary["expected_acceptances"] == round(invitation.acceptance, 3)


def test_replay__same_log_twice__same_report() -> None:
    traffic = _traffic(60, seed=3)
    first = replay(traffic.entries, _config(), struggle_score).summary()
    assert replay(traffic.entries, _config(), struggle_score).summary() == first


def test_replay__one_agent_bot_fallback__agent_load_within_capacity_rest_to_bot() -> None:
    traffic = _traffic(200, seed=5, per_hour=1200, mix=CROWDED)
    report = replay(traffic.entries, _config(), struggle_score, options=ReplayOptions(agents=1))
    assert report.capacity_slots == 3
    assert 2 < report.peak_expected_load <= 3 + 1e-9
    modes = report.summary()["invitations_by_mode"]
    assert modes["agent"] > 0 and modes["bot"] > 0
    assert report.invitations_by_reason["no_capacity"] == modes["bot"]


def test_replay__one_agent_suppress__strugglers_wait_in_the_pool() -> None:
    traffic = _traffic(200, seed=5, per_hour=1200, mix=CROWDED)
    fallback = comparison_config().fallback.model_copy(update={"when_no_capacity": "suppress"})
    report = replay(traffic.entries, _config(fallback=fallback), struggle_score, options=ReplayOptions(agents=1))
    assert {i.mode for i in report.invitations} == {"agent"}
    assert report.peak_expected_load <= 3 + 1e-9
    assert report.not_invited_by_reason["no_capacity"] + report.not_invited_by_reason["outranked"] > 0


def test_replay__no_agents_bot_fallback__bot_invitations_hold_no_capacity() -> None:
    fallback = comparison_config().fallback.model_copy(update={"when_no_capacity": "bot"})
    report = replay(
        _struggler_and_reader(), _config(fallback=fallback), struggle_score, options=ReplayOptions(agents=0)
    )
    assert [i.mode for i in report.invitations] == ["bot"]
    assert report.peak_expected_load == 0.0
    assert report.invitations_by_reason["no_capacity"] == 1


def test_replay__outcomes_other_sites_and_bad_events__counted_not_used() -> None:
    entries = [
        *_struggler_and_reader(),
        _entry("v_other001", [{"t": "page_view", "ts": T0, "path": "/demo/"}], site="elsewhere"),
        _entry(
            "v_reader01",
            [
                {"t": "invite_dismissed", "ts": T0 + 95_000, "invite": "i_recorded1"},
                {"t": "page_view", "ts": T0 + 95_000, "path": "/demo/", "colour": "red"},
            ],
        ),
    ]
    report = replay(entries, _config(), struggle_score)
    assert (report.skipped_entries, report.ignored_outcomes, report.invalid_events) == (1, 1, 1)


def test_replay__progress__reported_during_and_at_the_end() -> None:
    seen: list[ReplayProgress] = []
    entries = _struggler_and_reader()
    replay(entries, _config(), struggle_score, options=ReplayOptions(progress_every=10), progress=seen.append)
    assert [p.entries for p in seen] == [*range(10, len(entries) + 1, 10), len(entries)]
    assert seen[-1].invitations == 1


def test_fixed_delay__policy_replay__matches_the_shortcut_used_for_matching() -> None:
    traffic = _traffic(40, seed=11)
    config = _config()
    replayed = replay(traffic.entries, config, struggle_score, policy=fixed_delay(45))
    moments: list[Moment] = []
    replay(traffic.entries, config, struggle_score, policy=observe(moments))
    shortcut = fixed_delay_invitations(moments, 45)
    assert [(i.visitor, i.at_ms) for i in replayed.invitations] == [(i.visitor, i.at_ms) for i in shortcut]
    assert replayed.invitations


def test_replay_command__config_and_baseline__side_by_side(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps(entry) for entry in _struggler_and_reader()) + "\n\n")
    proposed, in_force = tmp_path / "proposed.json", tmp_path / "in_force.json"
    proposed.write_text(_config().model_dump_json())
    narrow = _config().targeting.model_copy(update={"exclude_paths": ["/demo/checkout"]})
    in_force.write_text(_config(targeting=narrow).model_dump_json())
    result = CliRunner().invoke(
        replay_command, [str(log), "--config", str(proposed), "--baseline", str(in_force), "--agents", "1", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["proposed"]["report"]["invitations"] == 1
    assert output["in_force"]["report"]["invitations"] == 0
    assert output["in_force"]["config"]["targeting"]["exclude_paths"] == ["/demo/checkout"]
    assert output["difference"]["invitations"] == 1


def test_replay_command__invalid_config__names_the_field(tmp_path: Path) -> None:
    log, config = tmp_path / "log.jsonl", tmp_path / "config.json"
    log.write_text("")
    config.write_text(json.dumps({"site": "demo", "timing": {"min_dwell": 5}}))
    result = CliRunner().invoke(replay_command, [str(log), "--config", str(config)])
    assert result.exit_code != 0 and "timing.min_dwell" in result.output
