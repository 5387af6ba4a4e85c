"""The fused default model is river's log1p | StandardScaler | LogisticRegression, measured better."""

from __future__ import annotations

import time

import pytest
from river import compose, datasets, linear_model, optim, preprocessing

from loadtests.proving.examples import RARE_MIX
from loadtests.proving.examples import examples as proving_examples
from scoring.base import Example, signed_log1p
from scoring.evaluate import progressive_validation
from scoring.model import LogisticParams, OnlineLogistic
from scoring.river_adapter import plain_river_scorer


def _slog(x: dict[str, float]) -> dict[str, float]:
    return {k: signed_log1p(v) for k, v in x.items()}


def test_model__sgd_without_clip__equals_river_pipeline() -> None:
    river_pipeline = (
        compose.FuncTransformer(_slog)
        | preprocessing.StandardScaler()
        | linear_model.LogisticRegression(optim.SGD(0.01), intercept_lr=0.01)
    )
    fused = OnlineLogistic(
        LogisticParams(learning_rate=0.01, intercept_learning_rate=0.01, adagrad=False, l2=0.0, z_clip=1e12)
    )
    sessions = proving_examples(400, seed=3)
    for x, y in sessions[:300]:
        river_pipeline.learn_one(x, y)
        fused.learn_one(x, y)
    for x, _ in sessions[300:]:
        expected = river_pipeline.predict_proba_one(x)[True]
        assert fused.predict_proba_one(x) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("dataset", ["phishing", "sessions", "rare_sessions"])
def test_model__progressive_auc__at_least_plain_river(dataset: str) -> None:
    examples: list[Example] = {
        "phishing": lambda: [(x, bool(y)) for x, y in datasets.Phishing()],  # type: ignore[no-untyped-call]
        "sessions": lambda: proving_examples(3000, seed=31),
        "rare_sessions": lambda: proving_examples(3000, seed=32, mix=RARE_MIX),
    }[dataset]()
    default = progressive_validation(examples, OnlineLogistic(), time.perf_counter)
    plain = progressive_validation(examples, plain_river_scorer(), time.perf_counter)
    assert default.roc_auc is not None and plain.roc_auc is not None
    assert default.roc_auc >= plain.roc_auc
    assert default.log_loss is not None and plain.log_loss is not None
    assert default.log_loss <= plain.log_loss * 1.02


def test_model__weighted_example__moves_prediction_more() -> None:
    light, heavy = OnlineLogistic(), OnlineLogistic()
    for x, y in proving_examples(200, seed=5):
        light.learn_one(x, y)
        heavy.learn_one(x, y)
    probe = {"form_errors": 3.0, "time_on_site_s": 60.0}
    before = light.predict_proba_one(probe)
    light.learn_one(probe, True, weight=1.0)
    heavy.learn_one(probe, True, weight=5.0)
    assert before < light.predict_proba_one(probe) < heavy.predict_proba_one(probe)


def test_model__non_finite_values__treated_as_missing() -> None:
    model = OnlineLogistic()
    for x, y in proving_examples(100, seed=6):
        model.learn_one(x, y)
    model.learn_one({"clicks": float("nan"), "rage_clicks": float("inf")}, True)
    assert model.predict_proba_one({"clicks": float("nan")}) == model.predict_proba_one({})


def test_model__contributions__sum_to_logit_without_intercept() -> None:
    model = OnlineLogistic()
    for x, y in proving_examples(300, seed=8):
        model.learn_one(x, y)
    x = proving_examples(1, seed=9)[0][0]
    empty_logit = model._logit({})
    assert sum(model.contributions(x).values()) == pytest.approx(model._logit(x) - empty_logit)
