"""Hypothesis strategies for decision contexts: random configs, visitors, clocks and capacity."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import strategies as st

from triggers import DecisionContext

NOW = 1_748_858_400_000  # 2025-06-02T10:00:00Z
PATHS = ["/", "/products/blue-shoe", "/search", "/cart", "/checkout", "/checkout/payment", "/help"]
# Mostly permissive, so that the rule a property forces is what blocks. (Hypothesis favours boundary values,
# so "rare" is a middle value of a range rather than one end of it.)
rarely = st.integers(0, 9).map(lambda n: n == 7)
ids = st.integers(0, 10**8).map(lambda n: f"v_{n:08d}")
optional_ago_ms = rarely.flatmap(lambda some: st.integers(0, 3 * 86_400_000) if some else st.none())


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "site": "shop",
        "timing": {
            "min_dwell_s": draw(st.sampled_from([0, 5, 20, 60])),
            "min_pages": draw(st.integers(0, 2)),
            "score_threshold": draw(st.sampled_from([0.3, 0.6, 0.9])),
            "sustain_s": draw(st.sampled_from([0, 3, 10])),
        },
        "respect": {
            "max_per_session": draw(st.integers(1, 3)),
            "max_per_day": draw(st.integers(1, 4)),
            "dismiss_cooldown_s": draw(st.sampled_from([0, 3600, 86_400])),
            "min_gap_s": draw(st.sampled_from([0, 600])),
        },
        "targeting": {"exclude_paths": draw(st.sampled_from([[], ["/checkout/payment"], ["/help", "/cart"]]))},
        "fallback": {
            "when_no_capacity": draw(st.sampled_from(["bot", "offline", "suppress"])),
            "when_closed": draw(st.sampled_from(["bot", "offline", "suppress"])),
        },
        "hours": draw(st.sampled_from([None, {"timezone": "Europe/Berlin"}, {"timezone": "America/New_York"}])),
        "experiment": {
            "holdout": draw(st.sampled_from([0.0, 0.1, 0.5])),
            "rollout": draw(st.sampled_from([0.5, 1.0])),
            "exploration": draw(st.sampled_from([0.0, 0.2])),
        },
    }


def _ago(now: int, ago: int | None) -> int | None:
    return None if ago is None else now - ago


@st.composite
def contexts(draw: st.DrawFn) -> DecisionContext:
    now = NOW + draw(st.integers(0, 14 * 86_400_000))
    agents = [{"active_chats": 0}] * draw(st.integers(0, 3)) + draw(
        st.lists(st.fixed_dictionaries({"new": st.booleans(), "active_chats": st.integers(0, 4)}), max_size=3)
    )
    return DecisionContext.model_validate(
        {
            "config": draw(configs()),
            "visitor": draw(ids),
            "facts": {
                "session": "s_session_01",
                "path": draw(st.sampled_from(PATHS)),
                "session_started_ms": _ago(
                    now,
                    draw(
                        rarely.flatmap(lambda early: st.integers(0, 60_000) if early else st.integers(60_000, 600_000))
                    ),
                ),
                "invites_shown_session": draw(rarely.map(int)),
                "invites_shown_today": draw(rarely.map(lambda some: 3 if some else 0)),
                "last_invite_ms": _ago(now, draw(optional_ago_ms)),
                "last_dismissed_ms": _ago(now, draw(optional_ago_ms)),
                "opted_out": draw(rarely),
            },
            "features": {"pages_viewed": draw(st.integers(1, 5)), "form_errors": draw(st.integers(0, 3))},
            "score": draw(st.floats(0.0, 1.0) | st.floats(0.9, 1.0)),
            "now_ms": now,
            "capacity": {
                "agents": agents,
                "pending_invites": draw(st.lists(st.floats(0.0, 1.0), max_size=4)),
            },
            "rivals": draw(st.lists(st.fixed_dictionaries({"visitor": ids, "score": st.floats(0.0, 1.0)}), max_size=3)),
            "privacy": {"dnt": draw(rarely)},
            "in_chat": draw(rarely),
            "above_threshold_since_ms": _ago(now, draw(st.none() | st.integers(0, 60_000) | st.just(60_000))),
        }
    )


def with_facts(context: DecisionContext, **changes: Any) -> DecisionContext:
    """The same context with some visitor facts changed (the rule under test forced to fail)."""
    return context.model_copy(update={"facts": dataclasses.replace(context.facts, **changes)})
