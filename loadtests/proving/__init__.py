"""The proving ground: simulated visitors in simulated time, driving the real engine (``tactful simulate``).

``personas`` writes the visits and their ground truth, ``ground`` plays them through the engine, ``report``
measures, ``prove`` puts one run together: the engine as configured (learning), the same visits with the
prior alone, the fixed-delay rule at equal recall, the same visits answered noisily, and the same kinds of
visitor on a noisy site whose pages throw stray script errors (engine and prior alone).
"""

from __future__ import annotations

import time
from typing import Any

from loadtests.proving import report
from loadtests.proving.ground import ORIGIN, ProvingGround, Scenario, VisitResult, run
from loadtests.proving.personas import MIX, WANTED, Visit, generate
from triggers import SiteConfig

START_MS = 1_780_300_800_000
"""Simulated time starts on a Monday morning (2026-06-01 08:00 UTC); any instant would do."""
PAGE_GROUPS = {
    "checkout": ["/cart", "/checkout"],
    "account": ["/account/**"],
    "product": ["/product/*"],
    "search": ["/search"],
    "content": ["/blog/*", "/help/**"],
}
"""How the shop's marketer names its pages (the site config's ``page_groups``)."""

NEVER_INVITED = ("reader", "typo_fixer", "empty_submitter", "browser")
"""The kinds who need no help and that the score must never invite (exploration may, on purpose)."""
TARGETS = {
    "recall": 0.85,
    "precision": 0.85,
    "latency_median_s": 8.0,
    "latency_p90_s": 15.0,
    "never_invited": NEVER_INVITED,
}
"""design.md's judgement targets for the documented defaults."""


LEARNED_BY = (150, 300)
"""The visits that arrive between the model's 150th and 300th label: "within 150 labels" (design.md) is
measured on them, the engine's against the prior alone's on the same visits."""


def shop_config(**overrides: Any) -> SiteConfig:
    """The proving ground's shop as its marketer configures it: documented defaults, its own origin, page
    groups, and the bot answering when no agent is signed in."""
    document: dict[str, Any] = {
        "site": "shop",
        "allowed_origins": [ORIGIN],
        "page_groups": PAGE_GROUPS,
        "fallback": {"when_no_capacity": "bot"},
    }
    return SiteConfig.model_validate(document | overrides)


NOISY_SITE_STRAY_JS = 0.3
"""The noisy-signal site: three page loads in ten throw a script error, whoever the visitor is."""


def prove(
    visitors: int = 2000, seed: int = 1, slices: int = 5, config: SiteConfig | None = None, noise: float = 0.3
) -> dict[str, Any]:
    """One proving-ground run as a JSON-ready report (see ``report`` for the definitions)."""
    config = config or shop_config()
    visits = generate(visitors, seed, START_MS)
    started = time.perf_counter()
    learning = run(Scenario(config, learn=True, seed=seed), visits)
    seconds = time.perf_counter() - started
    prior = run(Scenario(config, learn=False, seed=seed), visits)
    noisy = run(Scenario(config, learn=True, noise=noise, seed=seed), visits)
    noisy_site = generate(visitors, seed, START_MS, stray_js=NOISY_SITE_STRAY_JS)
    noisy_signals = run(Scenario(config, learn=True, seed=seed), noisy_site)
    noisy_signals_prior = run(Scenario(config, learn=False, seed=seed), noisy_site)
    engine = report.summarise(learning.results)
    window = report.once_learned(learning.learning_curve, LEARNED_BY[0], LEARNED_BY[1])
    return {
        "visitors": visitors,
        "seed": seed,
        "seconds": round(seconds, 2),
        "collects": learning.collects,
        "config": {"score_threshold": config.timing.score_threshold, "sustain_s": config.timing.sustain_s},
        "engine": engine,
        "slices": report.slices(learning.results, slices),
        "learning_curve": learning.learning_curve,
        "once_learned": {
            "labels": list(LEARNED_BY),
            "engine": report.summarise(report.arrived(learning.results, window)),
            "prior_alone": report.summarise(report.arrived(prior.results, window)),
        },
        "browsers_by_stray_signals": report.by_stray_signals(learning.results),
        "prior_alone": report.summarise(prior.results),
        "prior_alone_slices": report.slices(prior.results, slices),
        "fixed_delay_at_equal_recall": report.fixed_delay(learning.results, engine["recall"]),
        "noisy_outcomes": {"noise": noise} | report.summarise(noisy.results),
        "noisy_signals": {
            "stray_js_per_page": NOISY_SITE_STRAY_JS,
            "engine": report.summarise(noisy_signals.results),
            "prior_alone": report.summarise(noisy_signals_prior.results),
        },
        "learned": _learned(learning),
        "scarce_agents": scarce_agents(range(seed, seed + 10)),
    }


def scarce_agents(
    seeds: range = range(1, 11), strugglers: int = 30, window_s: int = 300, chat_s: tuple[float, float] = (60.0, 150.0)
) -> dict[str, Any]:
    """One agent with two chat slots, ``strugglers`` wanted strugglers arriving within ``window_s`` among
    twice as many visitors who need nothing: who gets the slots, by expected benefit or first come?

    Nobody is held out and, with no slot free, nobody is offered anything else (``suppress``): waiting
    visitors stay in the pacing pool and the next free slot goes to the first in ``capacity.ranking``.
    Chats are short (one to two and a half minutes) so that slots free up while strugglers still wait;
    with chats of several minutes the two slots go to the first two strugglers whatever the ranking."""
    rows: dict[str, list[float]] = {"benefit": [], "first_come": []}
    invited: dict[str, int] = {"benefit": 0, "first_come": 0}
    per_hour = strugglers * 3600 / window_s
    for seed in seeds:
        wanted = generate(strugglers, seed, START_MS, per_hour, {kind: 1.0 for kind in sorted(WANTED)}, 0.0)
        others = generate(
            2 * strugglers,
            seed + 10_000,
            START_MS,
            2 * per_hour,
            {"reader": 0.4, "browser": 0.4, "converter": 0.2},
            0.0,
        )
        for ranking in rows:
            config = shop_config(
                capacity={"ranking": ranking},
                experiment={"holdout": 0.0, "exploration": 0.0},
                fallback={"when_no_capacity": "suppress"},
            )
            played = run(
                Scenario(config, learn=False, agents={"agent-1": 2}, chat_s=chat_s, seed=seed), wanted + others
            )
            needs = [r.visit.need for r in played.results if any(inv.mode == "agent" for inv in r.invitations)]
            rows[ranking].extend(needs)
            invited[ranking] += len(needs)
    return {
        ranking: {
            "agent_invitations": invited[ranking],
            "mean_need_of_invited": round(sum(needs) / len(needs), 4) if needs else None,
        }
        for ranking, needs in rows.items()
    } | {"seeds": len(seeds), "strugglers_per_seed": strugglers}


def _learned(ground: ProvingGround) -> dict[str, Any]:
    if ground.learner is None:
        return {}
    scorer = ground.learner.state.scorer
    model = scorer.model
    learned = model.learned() if hasattr(model, "learned") else {}
    return {"n_learned": scorer.n_learned, "model_weight": round(scorer.model_weight, 3)} | learned


__all__ = [
    "MIX",
    "NEVER_INVITED",
    "PAGE_GROUPS",
    "TARGETS",
    "WANTED",
    "Scenario",
    "Visit",
    "VisitResult",
    "generate",
    "prove",
    "run",
    "scarce_agents",
    "shop_config",
]
