"""From a visitor's stored records to what scoring and the policy read: one function for live and replay.

``extract`` gives behaviour, ``describe`` the facts the rules target, and the site's config adds the
visitor's context (page group, device, source, ...; ``tracker.context``) for the model to learn from.
Live collect (``api.decider``) and the what-if replay (``triggers.replay``) both call ``observe``, so a
replayed decision sees exactly the features a live one would have.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracker.features import VisitorFacts, describe, extract
from triggers.config import SiteConfig


def observe(config: SiteConfig, session: Mapping[str, str], visitor: Mapping[str, str], now_ms: int
            ) -> tuple[dict[str, float], VisitorFacts]:
    features = extract(session, visitor, now_ms)
    facts = describe(session, visitor, now_ms)
    features.update(config.context(facts, now_ms))
    return features, facts
