"""Ready-made site configs: the conservative default and the demo shop's.

``default_config`` is what a new site gets before anyone tunes it: every safe
default, nothing offered when no person can answer. ``demo_config`` shows each
section doing something visible on the demo shop, so that ``tactful serve``
demonstrates the policy rather than a blank one.
"""

from __future__ import annotations

from triggers.config import SiteConfig

DEMO_PATHS = ("/demo", "/demo/", "/demo/product/*", "/demo/search", "/demo/cart", "/demo/checkout", "/demo/help")
"""The demo shop's pages, as `tactful serve` serves them."""


def default_config(site: str, allowed_origins: list[str] | None = None) -> SiteConfig:
    return SiteConfig(site=site, allowed_origins=list(allowed_origins or []))


def demo_config(allowed_origins: list[str], site: str = "demo") -> SiteConfig:
    """The demo shop: invitations on shopping pages, a bot when agents are busy, open at all hours."""
    return SiteConfig.model_validate(
        {
            "site": site,
            "version": 1,
            "allowed_origins": allowed_origins,
            "targeting": {
                "include_paths": ["/demo", "/demo/", "/demo/product/*", "/demo/search", "/demo/cart", "/demo/checkout"],
                "exclude_paths": ["/demo/help", "/demo/help/*"],
            },
            # 0.25: two errors on one field and a rage click are enough, so a newcomer can trigger it on purpose.
            "timing": {"min_dwell_s": 20, "min_pages": 1, "score_threshold": 0.25, "sustain_s": 3},
            "respect": {"max_per_session": 1, "max_per_day": 2, "dismiss_cooldown_s": 86_400},
            # Open round the clock, so that the README's walk-through works whenever a newcomer tries
            # it; docs/configuration.md shows real opening hours and closed dates.
            "hours": {
                "timezone": "Europe/London",
                "weekly": {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            },
            "capacity": {"max_chats_per_agent": 3, "max_chats_per_new_agent": 1},
            "fallback": {
                "when_no_capacity": "bot",
                "when_closed": "offline",
                "bot": {
                    "greeting": "Maybe one of these helps?",
                    "items": [
                        {
                            "label": "Delivery and returns",
                            "children": [
                                {
                                    "label": "When will my order arrive?",
                                    "answer": "Most orders arrive in 2-3 days.",
                                },
                                {"label": "How do I return an item?", "url": "/demo/help/returns"},
                            ],
                        },
                        {"label": "Payment problems", "answer": "We accept cards, PayPal and gift cards."},
                        {"label": "Talk to a person", "handoff": True},
                    ],
                },
                "offline": {"message": "We're offline right now. Leave a message and we'll reply by email."},
            },
            "messages": {
                "rules": [
                    {
                        "paths": ["/demo/checkout", "/demo/cart"],
                        "variants": [
                            {"id": "checkout-help", "text": "Need a hand with the checkout?"},
                            {
                                "id": "checkout-human",
                                "text": "Stuck? A real person can help you finish your order.",
                            },
                        ],
                    },
                    {
                        "paths": ["/demo/search"],
                        "variants": [{"id": "search-help", "text": "Can't find it? Tell us what you're looking for."}],
                    },
                    {
                        "paths": ["/demo/product/*"],
                        "variants": [{"id": "product-question", "text": "Questions about this product? Ask us."}],
                    },
                ],
                "default": [{"id": "default", "text": "Hi! Can we help you find anything?"}],
            },
            "experiment": {"holdout": 0.10, "rollout": 1.0, "exploration": 0.02, "salt": "demo-2025"},
        }
    )
