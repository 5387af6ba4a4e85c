"""The cold-start prior, its documented table, the handover to the model, versions and reasons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from river import datasets

from loadtests.proving.examples import examples
from scoring import prior as prior_module
from scoring.base import Features
from scoring.blend import BlendedScorer, default_site_scorer
from scoring.explanation import top_reasons
from scoring.measures import roc_auc
from scoring.model import OnlineLogistic
from scoring.prior import PRIOR_BIAS, PRIOR_WEIGHTS, StrugglePrior

DOCS = Path(__file__).parents[2] / "docs" / "scoring.md"
QUIET = {"time_on_site_s": 30.0, "pages_viewed": 1.0}
STUCK_ON_FORM = {
    "time_on_site_s": 120.0,
    "pages_viewed": 3.0,
    "form_errors": 2.0,
    "recent_form_errors": 1.8,
    "failed_submits": 2.0,
    "repeated_submits": 1.0,
    "repeated_field_errors": 1.0,
    "zero_result_searches": 1.0,
    "recent_zero_result_searches": 0.9,
    "struggle_kinds": 2.0,
}
TYPO_FIXED = {
    "time_on_site_s": 120.0,
    "pages_viewed": 3.0,
    "form_errors": 1.0,
    "failed_submits": 1.0,
    "struggle_kinds": 1.0,
}


def _table(text: str) -> dict[str, float]:
    rows = re.findall(r"^\| (\(bias\)|[a-z_]+) \| ([+-]\d+\.\d+) \|", text, flags=re.MULTILINE)
    return {name: float(weight) for name, weight in rows}


@pytest.mark.parametrize("source", ["module docstring", "docs/scoring.md"])
def test_prior__documented_table__matches_the_weights_used(source: str) -> None:
    text = (prior_module.__doc__ or "") if source == "module docstring" else DOCS.read_text()
    assert _table(text) == {"(bias)": PRIOR_BIAS, **PRIOR_WEIGHTS}


def test_prior__documented_examples__hold() -> None:
    prior = StrugglePrior()
    assert prior.predict_proba_one(QUIET) == pytest.approx(0.02, abs=0.005)
    assert prior.predict_proba_one(TYPO_FIXED) == pytest.approx(0.10, abs=0.01)
    assert prior.predict_proba_one(STUCK_ON_FORM) == pytest.approx(0.60, abs=0.01)


@pytest.mark.parametrize("signal", [name for name, weight in PRIOR_WEIGHTS.items() if weight > 0])
def test_prior__more_of_a_struggle_signal__higher_score(signal: str) -> None:
    prior = StrugglePrior()
    scores = [prior.predict_proba_one(QUIET | {signal: value}) for value in (0.0, 1.0, 3.0, 10.0)]
    assert scores == sorted(scores) and scores[0] < scores[-1]


def test_prior__conversion__lowers_score_and_learning_is_a_no_op() -> None:
    prior = StrugglePrior()
    before = prior.predict_proba_one(STUCK_ON_FORM)
    assert prior.predict_proba_one(STUCK_ON_FORM | {"conversions": 1.0}) < before
    prior.learn_one(STUCK_ON_FORM, False, weight=100.0)
    assert prior.predict_proba_one(STUCK_ON_FORM) == before and prior.n_learned == 0


def test_prior__ranks_generated_struggle() -> None:
    sessions = examples(2000, seed=41)
    auc = roc_auc([StrugglePrior().predict_proba_one(x) for x, _ in sessions], [y for _, y in sessions])
    assert auc is not None and auc > 0.7


def test_blend__before_any_label__is_exactly_the_prior() -> None:
    blend, prior = default_site_scorer(), StrugglePrior()
    for x, _ in examples(50, seed=42):
        assert blend.predict_proba_one(x) == prior.predict_proba_one(x)
    assert blend.model_weight == 0.0


def test_blend__model_that_predicts_better__takes_the_measured_weight_up_to_its_bound() -> None:
    blend = BlendedScorer(StrugglePrior(), OnlineLogistic(), handover=40)
    for x, y in examples(19, seed=43):
        blend.learn_one(x, y)
    assert blend.model_weight == 0.0  # fewer than MIN_LABELS: the prior alone
    for x, y in examples(2000, seed=44):
        blend.learn_one(x, y)
    n = blend.n_learned
    assert 0.0 < blend.model_weight <= n / (n + 40)
    losses = blend.mixture_losses
    assert blend.model_weight == min(n / (n + 40), losses.index(min(losses)) / 10)
    x = STUCK_ON_FORM
    w = blend.model_weight
    expected = (1 - w) * StrugglePrior().predict_proba_one(x) + w * blend.model.predict_proba_one(x)
    assert blend.predict_proba_one(x) == pytest.approx(expected)


def test_blend__random_outcomes__leave_the_prior_in_charge() -> None:
    """A model that cannot beat the prior on the site's labels gets little or no say."""
    import random

    rng = random.Random(5)
    blend = default_site_scorer()
    for x, _ in examples(600, seed=47):
        blend.learn_one(x, rng.random() < StrugglePrior().predict_proba_one(x))  # the prior is the truth
    assert blend.model_weight <= 0.2


def test_blend__prior_that_knows_nothing__hands_over_to_the_model() -> None:
    # On Phishing the struggle prior is a constant (AUC 0.5); the blend must become the model.
    rows = [(x, bool(y)) for x, y in datasets.Phishing()]
    blend = BlendedScorer(handover=50)
    early: list[tuple[float, float, bool]] = []
    late: list[tuple[float, float, bool]] = []
    for k, (x, y) in enumerate(rows):
        (early if k < 50 else late).append((blend.predict_proba_one(x), blend.model.predict_proba_one(x), y))
        blend.learn_one(x, y)
    assert blend.model_weight > 0.95
    late_auc = roc_auc([p for p, _, _ in late[-500:]], [y for _, _, y in late[-500:]])
    model_auc = roc_auc([m for _, m, _ in late[-500:]], [y for _, _, y in late[-500:]])
    assert late_auc is not None and model_auc is not None
    assert late_auc == pytest.approx(model_auc, abs=0.01) and late_auc > 0.9


def test_blend__weights_over_time__bounded_by_the_labels_seen() -> None:
    blend = default_site_scorer()
    for k, (x, y) in enumerate(examples(500, seed=44), start=1):
        blend.learn_one(x, y)
        assert blend.model_weight <= k / (k + 30) + 1e-12
        assert k >= 20 or blend.model_weight == 0.0


def test_blend__version__bumps_per_learn_and_per_batch() -> None:
    blend = default_site_scorer()
    sessions = examples(30, seed=45)
    blend.learn_one(*sessions[0])
    blend.learn_one(*sessions[1])
    assert blend.version == 2
    assert blend.learn_many((x, y, 1.0) for x, y in sessions[2:]) == 28
    assert blend.version == 3 and blend.n_learned == 30
    assert blend.learn_many([]) == 0 and blend.version == 3


@pytest.mark.parametrize("handover", [0.0, -1.0])
def test_blend__non_positive_handover__rejected(handover: float) -> None:
    with pytest.raises(ValueError, match="handover"):
        BlendedScorer(handover=handover)


def test_explain__stuck_on_form__form_errors_first() -> None:
    reasons = default_site_scorer().explain(STUCK_ON_FORM)
    assert set(reasons[:2]) == {"form_errors", "zero_result_searches"}


def test_explain__quiet_visitor__no_reasons() -> None:
    assert default_site_scorer().explain(QUIET | {"clicks": 5.0}) == []


def test_explain__rage_clicks_now__named_after_the_signal() -> None:
    visitor = {"rage_clicks": 6.0, "recent_rage_clicks": 5.0, "time_on_site_s": 50.0}
    reasons = default_site_scorer().explain(visitor)
    assert reasons == ["rage_clicks"]


def test_explain__learned_model__reasons_come_from_observed_signals_only() -> None:
    blend = default_site_scorer()
    for x, y in examples(1000, seed=46):
        blend.learn_one(x, y)
    visitor = {
        "js_errors": 2.0,
        "recent_js_errors": 2.0,
        "dead_clicks": 3.0,
        "recent_dead_clicks": 2.0,
        "time_on_site_s": 200.0,
    }
    reasons = blend.explain(visitor)
    assert reasons and set(reasons) <= {"js_errors", "dead_clicks"}


def test_explain__same_reasons_as_from_every_features_contribution() -> None:
    """explain reads only the observed signals' contributions; the reasons are those of all of them."""
    blend = default_site_scorer()
    for x, y in examples(500, seed=47):
        blend.learn_one(x, y)
    sessions = [x for x, _ in examples(300, seed=48)]
    explained = [blend.explain(x) for x in sessions]

    assert explained == [top_reasons(blend.contributions(x), x) for x in sessions]
    assert sum(1 for reasons in explained if reasons) > 30  # a tenth: most visitors show no struggle


def test_top_reasons__limits_threshold_and_unobserved() -> None:
    contributions = {
        "form_errors": 0.9,
        "rage_clicks": 0.5,
        "u_turns": 0.2,
        "js_errors": 0.1,
        "dead_clicks": 2.0,
        "time_on_site_s": 3.0,
    }
    features = {
        "form_errors": 1.0,
        "rage_clicks": 2.0,
        "u_turns": 1.0,
        "js_errors": 1.0,
        "dead_clicks": 0.0,
        "time_on_site_s": 100.0,
    }
    assert top_reasons(contributions, features) == ["form_errors", "rage_clicks", "u_turns"]
    assert top_reasons(contributions, features, limit=5) == ["form_errors", "rage_clicks", "u_turns"]


class _ShiftedPrior(StrugglePrior):
    def predict_proba_one(self, features: Features) -> float:
        return min(1.0, super().predict_proba_one(features) + 0.01)


@pytest.mark.parametrize(
    ("prior", "learned"),
    [
        (StrugglePrior(), 0),
        (
            StrugglePrior(
                bias=-2.5,
                weights={
                    "form_errors": 1.3,
                    "rage_clicks": 0.7,
                    "time_on_site_s": 0.1,
                    "u_turns": -0.4,
                    "dead_clicks": 1e-3,
                },
            ),
            0,
        ),
        (_ShiftedPrior(), 0),
        (StrugglePrior(), 200),
    ],
    ids=["prior alone", "prior with its own weights", "a prior subclass", "learned model"],
)
def test_predict_and_explain__equals_the_two_calls(prior: StrugglePrior, learned: int) -> None:
    """The one-pass score and reasons every collect uses are exactly predict_proba_one's and explain's."""
    blend = BlendedScorer(prior, OnlineLogistic())
    for x, y in examples(learned, seed=49):
        blend.learn_one(x, y)
    sessions = [x for x, _ in examples(300, seed=50)]
    odd = [
        {"form_errors": float("inf"), "rage_clicks": float("nan"), "u_turns": -2.0, "conversions": 1.0},
        {"dead_clicks": 1e300, "recent_dead_clicks": 0.0},
        {},
    ]

    assert [blend.predict_and_explain(x) for x in sessions + odd] == [
        (blend.predict_proba_one(x), blend.explain(x)) for x in sessions + odd
    ]
    assert sum(1 for x in sessions if blend.predict_and_explain(x)[1]) > 30  # a tenth: most show no struggle


def _in_context(rows: list[Features], seed: int, labels: list[bool] | None = None) -> list[Features]:
    """The rows as the engine scores them, with a page, device and source context drawn by seed; with
    ``labels``, the page says something (the declined mostly on the account page), so the correction
    earns a say."""
    import random

    rng = random.Random(seed)
    pages = ["checkout", "account", "product"]
    out: list[Features] = []
    for index, x in enumerate(rows):
        declined = labels is not None and not labels[index]
        page = "account" if declined and rng.random() < 0.7 else rng.choice(pages)
        out.append(
            dict(x)
            | {
                f"page={page}": 1.0,
                f"device={rng.choice(['mobile', 'desktop'])}": 1.0,
                f"source={rng.choice(['direct', 'search'])}": 1.0,
            }
        )
    return out


@pytest.mark.parametrize("correction_prior", [None, StrugglePrior(bias=-2.0)], ids=["same prior", "another prior"])
def test_predict_and_explain__default_pair_with_context__equals_the_two_calls(
    correction_prior: StrugglePrior | None,
) -> None:
    """The prior and its correction, once the site's labels give the correction a say: one pass over the
    prior's terms gives exactly the score and the reasons of the separate calls."""
    from scoring.correction import PriorCorrection

    blend = (
        default_site_scorer()
        if correction_prior is None
        else BlendedScorer(StrugglePrior(), PriorCorrection(correction_prior))
    )
    labelled = examples(400, seed=51)
    labels = [y for _, y in labelled]
    for x, y in zip(_in_context([x for x, _ in labelled], 52, labels), labels, strict=True):
        blend.learn_one(x, y)
    assert blend.model_weight > 0
    sessions = _in_context([x for x, _ in examples(300, seed=53)], 54)
    odd = [{"form_errors": float("inf"), "rage_clicks": float("nan"), "page=checkout": 1.0}, {"page=account": 1.0}, {}]

    assert [blend.predict_and_explain(x) for x in sessions + odd] == [
        (blend.predict_proba_one(x), blend.explain(x)) for x in sessions + odd
    ]
    assert sum(1 for x in sessions if blend.predict_and_explain(x)[1]) > 30
