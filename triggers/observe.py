"""From a visitor's stored records to a decision: one path for live collect and for replay.

``observe``: ``extract`` gives behaviour, ``describe`` the facts the rules target, and the site's config
adds the visitor's context (page group, device, source, ...; ``tracker.context``) for the model to learn
from. ``judge``: state -> features and facts -> score and reasons -> decision context -> ``decide``. Live
collect (``api.decider``) and the what-if replay (``triggers.replay``) both call ``judge``, so a replayed
decision sees exactly the features, score and context a live one would have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tracker.features import VisitorFacts, describe, extract
from triggers.capacity import CapacitySnapshot, Rival
from triggers.config import SiteConfig
from triggers.context import Decision, DecisionContext, Privacy
from triggers.decide import decide

ScoreAndExplain = Callable[[dict[str, float]], tuple[float, list[str]]]
Policy = Callable[[DecisionContext], Decision]


def observe(
    config: SiteConfig, session: Mapping[str, str], visitor: Mapping[str, str], now_ms: int
) -> tuple[dict[str, float], VisitorFacts]:
    features = extract(session, visitor, now_ms)
    facts = describe(session, visitor, now_ms)
    features.update(config.context(facts, now_ms))
    return features, facts


@dataclass(frozen=True, slots=True)
class Judgement:
    features: dict[str, float]
    facts: VisitorFacts
    context: DecisionContext
    decision: Decision


def judge(
    config: SiteConfig,
    visitor: str,
    session: Mapping[str, str],
    record: Mapping[str, str],
    now_ms: int,
    score: ScoreAndExplain,
    capacity: CapacitySnapshot,
    rivals: list[Rival],
    privacy: Privacy,
    policy: Policy = decide,
) -> Judgement:
    """The engine's judgement of one visitor now, from their records (``session``, ``record``): when
    their score rose to the threshold and whether a chat is open are read from there, where the
    caller stores them (``tracker.events.evidence_ops``, ``chat_ops``). A score outside [0, 1] is
    clipped."""
    features, facts = observe(config, session, record, now_ms)
    probability, explanation = score(features)
    # Validated, although every input is ours: pydantic-core checks these faster than
    # model_construct's pure-Python defaults fill them in (7 against 9 us, measured).
    context = DecisionContext(
        config=config,
        visitor=visitor,
        facts=facts,
        features=features,
        score=min(1.0, max(0.0, float(probability))),
        explanation=explanation,
        now_ms=now_ms,
        capacity=capacity,
        rivals=rivals,
        privacy=privacy,
        in_chat=facts.in_chat,
        above_threshold_since_ms=facts.evidence_since_ms,
    )
    return Judgement(features, facts, context, policy(context))
