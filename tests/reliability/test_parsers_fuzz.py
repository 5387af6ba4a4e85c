"""Property tests for the parsers that lacked them: site config documents and admin payloads.

Whatever JSON arrives, a parser either returns a valid object or raises pydantic's ValidationError (which
the API turns into a 4xx naming the field): never another exception, which would be a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from api.chat.agents import AgentIn, CannedIn
from api.chat.routes import OfflineMessage
from api.chat.webhooks import WebhookIn
from triggers import SiteConfig
from triggers.presets import demo_config

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
DEMO = demo_config(["https://shop.example"]).model_dump(mode="json")


def mutated(document: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The document with one top-level or nested field replaced by arbitrary JSON (near-valid input
    reaches deeper validation than random dicts do)."""

    def replace(path: list[str], value: Any) -> dict[str, Any]:
        copy: dict[str, Any] = {**document}
        target = copy
        for key in path[:-1]:
            target[key] = dict(target[key]) if isinstance(target.get(key), dict) else {}
            target = target[key]
        target[path[-1]] = value
        return copy

    paths = [[key] for key in document] + [
        [key, sub] for key, value in document.items() if isinstance(value, dict) for sub in value
    ]
    return st.builds(replace, st.sampled_from(paths), json_values)


def parses_or_refuses(model: type[BaseModel], raw: Any) -> None:
    try:
        model.model_validate(raw)
    except ValidationError as error:
        assert error.errors(), "a refusal names at least one field"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(DEMO))
def test_site_config__one_field_replaced_by_any_json__valid_or_validation_error(document: dict[str, Any]) -> None:
    parses_or_refuses(SiteConfig, document)


@settings(max_examples=50, deadline=None)
@given(json_values)
def test_site_config__any_json__valid_or_validation_error(raw: Any) -> None:
    parses_or_refuses(SiteConfig, raw)


@pytest.mark.parametrize("model", [AgentIn, CannedIn, WebhookIn, OfflineMessage])
@settings(max_examples=50, deadline=None)
@given(
    raw=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "max_chats",
                "new",
                "skills",
                "shortcut",
                "text",
                "url",
                "events",
                "secret",
                "enabled",
                "site",
                "visitor",
                "chat",
                "email",
                "message",
                "other",
            ]
        ),
        json_values,
        max_size=6,
    )
)
def test_admin_and_visitor_payloads__any_fields__valid_or_validation_error(
    model: type[BaseModel], raw: dict[str, Any]
) -> None:
    parses_or_refuses(model, raw)
