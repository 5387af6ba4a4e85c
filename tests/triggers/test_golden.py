"""Golden cases: one readable JSON file per scenario, ``{description, context, expected}``.

``expected`` lists only the decision fields the scenario is about; each must
match exactly. Add a case by adding a file: no code changes needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from triggers import DecisionContext, SiteConfig, decide
from triggers.context import to_millis
from triggers.fallback import BotMenu
from triggers.reasons import REASONS

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text())
    return case


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_decide__golden_case(path: Path) -> None:
    case = _load(path)
    assert set(case) == {"description", "context", "expected"}
    assert {"action", "reasons"} <= set(case["expected"]) or case["expected"].keys() >= {"action", "mode"}
    decision = decide(DecisionContext.model_validate(case["context"]))
    dumped = decision.model_dump(mode="json")
    for key, want in case["expected"].items():
        if key == "menu" and want is not None:
            assert decision.menu == BotMenu.model_validate(want), case["description"]
        else:
            want = to_millis(want) if key.endswith("_ms") else want
            assert dumped[key] == want, f"{key}: {case['description']}"


def test_golden__every_reason_code_is_covered() -> None:
    seen = {reason for path in CASES for reason in _load(path)["expected"].get("reasons", [])}
    assert set(REASONS) <= seen, f"no golden case for {sorted(set(REASONS) - seen)}"


def _option_paths(document: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, value in document.items():
        paths.add(prefix + key)
        if isinstance(value, dict) and key not in {"weekly", "utm", "features_at_least"}:
            paths |= _option_paths(value, f"{prefix}{key}.")
    return paths


def test_golden__every_config_option_is_exercised() -> None:
    """Each option of each section (e.g. ``respect.min_gap_s``) is set in at least one golden case."""
    used = set().union(*(_option_paths(_load(path)["context"]["config"]) for path in CASES))
    options = set()
    for section, field in SiteConfig.model_fields.items():
        options.add(section)
        annotation = field.annotation
        model = next(
            (
                arg
                for arg in getattr(annotation, "__args__", (annotation,))
                if isinstance(arg, type) and issubclass(arg, BaseModel)
            ),
            None,
        )
        if model is not None:
            options |= {f"{section}.{name}" for name in model.model_fields}
    assert options - used == set()


def test_golden__invite_ids_are_stable_and_well_formed() -> None:
    case = _load(GOLDEN / "invite__struggling_shopper_on_checkout.json")
    first = decide(DecisionContext.model_validate(case["context"]))
    again = decide(DecisionContext.model_validate(case["context"]))
    assert first.invite is not None and first.invite == again.invite
    assert first.invite.startswith("i_") and 8 <= len(first.invite) <= 64
