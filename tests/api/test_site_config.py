"""The config API: field-level refusals, versions with who/when/what, rollback, and reaching other workers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import Settings, create_app
from tests.api.shopping import (
    NOON_WEDNESDAY_LONDON,
    Clock,
    Visitor,
    agents_online,
    rollout_visitors,
    shop_config,
    struggle,
)

TOKEN = "config-test-admin-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
CONFIG = "/v1/admin/sites/demo/config"


@pytest.fixture
def app_settings(app_settings: Settings) -> Settings:
    """Every app in this module takes the admin token the config API needs."""
    return app_settings.model_copy(update={"admin_token": TOKEN})


def _config(client: TestClient) -> dict[str, Any]:
    response = client.get(CONFIG, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _edited(client: TestClient, **timing: Any) -> dict[str, Any]:
    document: dict[str, Any] = _config(client)["config"]
    document["timing"].update(timing)
    return document


def test_config__without_the_admin_token__401(shop: TestClient) -> None:
    assert shop.get(CONFIG).status_code == 401
    assert shop.put(CONFIG, json={}, headers={"authorization": "Bearer wrong-token-0000000000"}).status_code == 401


def test_config__invalid_document__every_bad_field_named_and_running_config_unchanged(shop: TestClient) -> None:
    before = _config(shop)
    document = _edited(shop, score_threshold=1.5, sustain_s=-1)
    document["respect"]["max_per_sesion"] = 2
    document["hours"]["timezone"] = "Mars/Olympus"

    response = shop.put(CONFIG, json=document, headers=ADMIN)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_config"
    assert {e["field"] for e in body["errors"]} == {
        "timing.score_threshold",
        "timing.sustain_s",
        "respect.max_per_sesion",
        "hours.timezone",
    }
    assert body["field"] in {e["field"] for e in body["errors"]}
    assert "Mars/Olympus" in body["message"]
    assert _config(shop) == before
    engine = shop.app.state.engine  # type: ignore[attr-defined]
    assert engine.sites.get("demo").timing.score_threshold == before["config"]["timing"]["score_threshold"]
    assert shop.get(f"{CONFIG}/versions", headers=ADMIN).json()["versions"] == []


def test_config__document_for_another_site__refused(shop: TestClient) -> None:
    document = _config(shop)["config"] | {"site": "other"}

    response = shop.put(CONFIG, json=document, headers=ADMIN)

    assert response.status_code == 422 and response.json()["field"] == "site"


def test_config__dry_run__reports_changes_or_problems_and_saves_nothing(shop: TestClient) -> None:
    good = shop.post(f"{CONFIG}/validate", json=_edited(shop, score_threshold=0.5), headers=ADMIN).json()
    bad = shop.post(f"{CONFIG}/validate", json=_edited(shop, min_pages="many"), headers=ADMIN).json()

    assert good["valid"] and good["errors"] == []
    assert good["changes"] == [{"field": "timing.score_threshold", "from": 0.25, "to": 0.5}]
    assert not bad["valid"] and [e["field"] for e in bad["errors"]] == ["timing.min_pages"]
    assert _config(shop)["version"] == 1


def test_config__saved__new_version_with_author_time_and_changes(shop: TestClient, clock: Clock) -> None:
    saved = shop.put(CONFIG, json=_edited(shop, score_threshold=0.5), headers=ADMIN | {"x-tactful-author": "Mia"})
    shop.put(CONFIG, json=_edited(shop, min_pages=2), headers=ADMIN)

    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2
    current = _config(shop)
    assert current["version"] == 3 and current["config"]["timing"]["min_pages"] == 2
    assert current["author"] == "admin" and current["at_ms"] == int(clock.now * 1000)
    versions = shop.get(f"{CONFIG}/versions", headers=ADMIN).json()["versions"]
    assert [(v["version"], v["author"]) for v in versions] == [(3, "admin"), (2, "Mia"), (1, "system")]
    assert versions[1]["changes"] == [{"field": "timing.score_threshold", "from": 0.25, "to": 0.5}]
    assert versions[0]["changes"] == [{"field": "timing.min_pages", "from": 1, "to": 2}]
    engine = shop.app.state.engine  # type: ignore[attr-defined]
    assert engine.sites.get("demo").version == 3  # this worker applies it at once


def test_config__unchanged_document__no_new_version(shop: TestClient) -> None:
    response = shop.put(CONFIG, json=_config(shop)["config"], headers=ADMIN)

    assert response.json()["version"] == 1 and response.json()["changes"] == []
    assert shop.get(f"{CONFIG}/versions", headers=ADMIN).json()["versions"] == []


def test_config__stale_if_match__409_and_nothing_saved(shop: TestClient) -> None:
    shop.put(CONFIG, json=_edited(shop, score_threshold=0.5), headers=ADMIN)

    late = shop.put(CONFIG, json=_edited(shop, min_pages=3), headers=ADMIN | {"if-match": '"1"'})

    assert late.status_code == 409 and late.json()["current"] == 2
    assert _config(shop)["config"]["timing"]["min_pages"] == 1


def test_config__rollback__restores_the_decisions(shop: TestClient, clock: Clock) -> None:
    agents_online(shop, 2)
    ids = rollout_visitors(shop_config())
    shop.put(CONFIG, json=_edited(shop, score_threshold=0.99), headers=ADMIN)
    strict = Visitor(shop, clock, next(ids))
    strict.browse(until=25)
    assert struggle(strict, onset=25) is None

    rolled = shop.post(f"{CONFIG}/rollback", json={"version": 1}, headers=ADMIN)

    assert rolled.status_code == 200 and rolled.json()["version"] == 3
    assert rolled.json()["changes"] == [{"field": "timing.score_threshold", "from": 0.99, "to": 0.25}]
    again = Visitor(shop, clock, next(ids))
    again.browse(until=25)
    assert struggle(again, onset=25) is not None
    versions = shop.get(f"{CONFIG}/versions", headers=ADMIN).json()["versions"]
    assert versions[0]["note"] == "rollback to version 1"
    assert shop.post(f"{CONFIG}/rollback", json={"version": 42}, headers=ADMIN).status_code == 404


@pytest.mark.redis
def test_config__saved_on_one_worker__changes_the_next_decision_on_another(
    redis_url: str, key_prefix: str, tmp_path: Any
) -> None:
    from tests.api.conftest import delete_prefix, settings

    shared = settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        redis_prefix=key_prefix,
        redis_shards=4,
        admin_token=TOKEN,
        site_refresh_s=0.2,
    )
    clock = Clock(NOON_WEDNESDAY_LONDON)
    try:
        with (
            TestClient(create_app(shared, clock=clock)) as worker_a,
            TestClient(create_app(shared, clock=clock)) as worker_b,
        ):
            engine_a = worker_a.app.state.engine  # type: ignore[attr-defined]
            strict = shop_config().model_copy(
                update={"timing": shop_config().timing.model_copy(update={"score_threshold": 0.99})}
            )
            worker_a.portal.call(engine_a.sites.put, strict)  # type: ignore[union-attr]
            engine_b = worker_b.app.state.engine  # type: ignore[attr-defined]
            worker_b.portal.call(engine_b.sites.reload)  # type: ignore[union-attr]
            agents_online(worker_b, 2)
            visitor = Visitor(worker_b, clock, next(rollout_visitors(shop_config())))
            visitor.browse(until=25)
            assert struggle(visitor, onset=25) is None  # the struggle is there, the threshold is not met

            saved = worker_a.put(CONFIG, json=_edited(worker_a, score_threshold=0.25), headers=ADMIN)
            assert saved.status_code == 200
            started = time.monotonic()
            while engine_b.sites.get("demo").version != saved.json()["version"]:
                assert time.monotonic() - started < 3, "worker B did not pick up the change within 3 s"
                time.sleep(0.05)

            decision = visitor.at(
                56,
                {"t": "form_error", "field": "postcode", "form": "checkout"},
                {"t": "rage_click", "count": 3, "sel": "button.pay"},
            )
            assert decision is not None and decision["mode"] == "agent"
    finally:
        delete_prefix(redis_url, key_prefix)
