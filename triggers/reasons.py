"""Machine-readable reason codes: every decision, invite or not, says why.

The order of ``REASONS`` is the order in which ``decide`` reports blockers, so the
first code of a no-invite decision is its primary reason (what the replay and the
analytics count). Signal names from the model (e.g. ``form_errors``) follow the
codes in ``Decision.reasons`` and are not listed here.
"""

from __future__ import annotations

from typing import Final

# Respect: the visitor's wishes and the site's caps.
OPTED_OUT: Final = "opted_out"
DO_NOT_TRACK: Final = "do_not_track"  # DNT or GPC, when the site honours them
IN_CHAT: Final = "in_chat"
CAP_REACHED: Final = "cap_reached"  # invitations this session
DAILY_CAP_REACHED: Final = "daily_cap_reached"  # invitations to this visitor today (UTC)
COOLDOWN_AFTER_DISMISS: Final = "cooldown_after_dismiss"
RECENTLY_INVITED: Final = "recently_invited"  # minimum gap between two invitations
# Targeting: the page and the audience.
EXCLUDED_PATH: Final = "excluded_path"
NOT_TARGETED: Final = "not_targeted"
# Timing: engagement and evidence.
TOO_EARLY: Final = "too_early"
TOO_FEW_PAGES: Final = "too_few_pages"
BELOW_THRESHOLD: Final = "below_threshold"
NOT_SUSTAINED: Final = "not_sustained"
# Experiment groups.
HOLDOUT: Final = "holdout"
NOT_IN_ROLLOUT: Final = "not_in_rollout"
# Availability: someone who can answer.
OUTSIDE_HOURS: Final = "outside_hours"
NO_CAPACITY: Final = "no_capacity"
OUTRANKED: Final = "outranked"  # capacity exists, but visitors with higher scores come first
# Why an invitation was made.
SCORE_ABOVE_THRESHOLD: Final = "score_above_threshold"
EXPLORED: Final = "explored"  # below the threshold, invited to learn (exploration group)
BURST: Final = "burst"  # a strong burst of struggle shortened the sustain time

REASONS: Final[tuple[str, ...]] = (
    OPTED_OUT,
    DO_NOT_TRACK,
    IN_CHAT,
    CAP_REACHED,
    DAILY_CAP_REACHED,
    COOLDOWN_AFTER_DISMISS,
    RECENTLY_INVITED,
    EXCLUDED_PATH,
    NOT_TARGETED,
    TOO_EARLY,
    TOO_FEW_PAGES,
    BELOW_THRESHOLD,
    NOT_SUSTAINED,
    HOLDOUT,
    NOT_IN_ROLLOUT,
    OUTSIDE_HOURS,
    NO_CAPACITY,
    OUTRANKED,
    SCORE_ABOVE_THRESHOLD,
    EXPLORED,
    BURST,
)
RANK: Final[dict[str, int]] = {code: rank for rank, code in enumerate(REASONS)}
"""A code's place in ``REASONS``; also the fast membership test (every decision asks both)."""

# The funnel a decision reached, by its codes: what the dashboard's funnel and score histogram count, and
# what the what-if replay counts the same way.
ENGAGED_STAGE: Final = 1
CANDIDATE_STAGE: Final = 2
ELIGIBLE_STAGE: Final = 3
NOT_ENGAGED: Final = frozenset({TOO_EARLY, TOO_FEW_PAGES})
NOT_CANDIDATE: Final = frozenset(REASONS[: RANK[TOO_EARLY]])
"""Respect and targeting: the codes ``REASONS`` lists before timing."""
NO_EVIDENCE: Final = frozenset({BELOW_THRESHOLD, NOT_SUSTAINED})


def stage_of(codes: list[str] | tuple[str, ...], score: float, threshold: float) -> int:
    """How far a decision got: 0 not engaged yet; 1 engaged (dwell and pages); 2 candidate (also respect
    and targeting pass: only the score, the experiment or availability can stop it); 3 eligible (also the
    score held above the threshold long enough: the policy would invite but for the experiment group or
    availability)."""
    present = set(codes)
    if present & NOT_ENGAGED:
        return 0
    if present & NOT_CANDIDATE:
        return ENGAGED_STAGE
    if present & NO_EVIDENCE or score < threshold:
        return CANDIDATE_STAGE
    return ELIGIBLE_STAGE
