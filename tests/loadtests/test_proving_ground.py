"""The proving ground, small and seeded: the documented defaults' judgement, measured on simulated shop
visitors driving the real engine. Big runs are a benchmark (``tactful simulate --visitors 10000``)."""

from __future__ import annotations

from typing import Any

import pytest

from loadtests.proving import TARGETS, prove, shop_config
from loadtests.proving.ground import Scenario, batches, run
from loadtests.proving.personas import generate
from loadtests.proving.report import summarise

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return prove(visitors=2000, seed=1, slices=5)


def test_defaults__reach_wanted_strugglers_before_they_leave(result: dict[str, Any]) -> None:
    assert result["engine"]["recall"] >= TARGETS["recall"]


def test_defaults__invite_promptly_after_struggle_begins(result: dict[str, Any]) -> None:
    latency = result["engine"]["latency_s"]
    assert latency["median"] <= TARGETS["latency_median_s"]
    assert latency["p90"] <= TARGETS["latency_p90_s"]


def test_defaults__readers_and_typo_fixers__never_invited(result: dict[str, Any]) -> None:
    unneeded = result["engine"]["invited_without_need"]
    assert unneeded.get("reader", 0) == 0 and unneeded.get("typo_fixer", 0) <= 1


def test_engine__beats_a_fixed_delay_rule(result: dict[str, Any]) -> None:
    engine, rule = result["engine"], result["fixed_delay_at_equal_recall"]
    assert rule["recall"] < engine["recall"] or rule["precision"] < engine["precision"]
    assert engine["precision"] > 2 * (rule["precision"] or 0.0)


def test_learning__page_group_whose_strugglers_decline__invited_far_less(result: dict[str, Any]) -> None:
    first, last = result["slices"][0], result["slices"][-1]
    share = "invited_share"
    assert last["by_kind"]["signin_decliner"][share] <= 0.6 * first["by_kind"]["signin_decliner"][share]
    assert result["engine"]["recall"] >= result["prior_alone"]["recall"] - 0.05
    assert result["learned"]["contexts"]["page=account"] < -1.0


def test_learning__noisy_outcomes__no_worse_than_the_prior_alone(result: dict[str, Any]) -> None:
    noisy, prior = result["noisy_outcomes"], result["prior_alone"]
    assert noisy["recall"] >= prior["recall"] - 0.05
    assert noisy["precision"] >= prior["precision"] - 0.02


def test_exploration__counted_truly_and_never_the_main_way_to_invite(result: dict[str, Any]) -> None:
    engine = result["engine"]
    assert 0 < engine["explored_share"] < 0.1


def test_one_empty_submit__is_one_failed_attempt_not_struggle() -> None:
    """Base case first: the same visitors failing the same field twice are invited (so the test can fail)."""
    visits = [v for v in generate(400, seed=11, start_ms=1_780_300_800_000) if v.kind == "empty_submitter"]
    assert visits and any(sum(1 for _, e in v.events if e["t"] == "form_error") >= 5 for v in visits)
    config = shop_config(experiment={"holdout": 0.0, "exploration": 0.0})
    calm = summarise(run(Scenario(config, learn=False), visits).results)
    assert calm["invitations"] == 0
    for visit in visits:  # the same scripts, but the submit fails again on one field a few seconds later
        submit = next(t for t, e in visit.events if e["t"] == "form_error")
        visit.events.extend(
            [
                (submit + 4000, {"t": "form_error", "field": "card", "form": "checkout"}),
                (submit + 8000, {"t": "form_error", "field": "card", "form": "checkout"}),
                (submit + 9000, {"t": "rage_click", "count": 4, "sel": "button.submit"}),
            ]
        )
        visit.events.sort(key=lambda item: item[0])
    assert summarise(run(Scenario(config, learn=False), visits).results)["invitations"] >= len(visits) // 2


def test_batches__urgent_events_go_at_once_and_the_rest_within_five_seconds() -> None:
    visit = generate(1, seed=5, start_ms=1_780_300_800_000)[-1]
    sent = batches(visit)
    assert sum(len(events) for _, events in sent) >= len(visit.events)
    for at, events in sent:
        assert all(at - event["ts"] <= 5000 for event in events)


def test_scarce_agents__slots_go_to_the_visitors_who_need_them_most(result: dict[str, Any]) -> None:
    scarce = result["scarce_agents"]
    benefit, first_come = scarce["benefit"], scarce["first_come"]
    assert benefit["agent_invitations"] > 0 and first_come["agent_invitations"] > 0
    assert benefit["mean_need_of_invited"] > first_come["mean_need_of_invited"]
