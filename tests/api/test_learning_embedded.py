"""The embedded mode learns in-process and keeps its model across a restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api import create_app
from tests.api.conftest import settings
from tests.api.shopping import NOON_WEDNESDAY_LONDON, Clock, Visitor, agents_online, shop_config, struggle

TOKEN = "embedded-admin-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}


def _model(client: TestClient) -> dict[str, Any]:
    response = client.get("/v1/admin/sites/demo/model", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_embedded__accepted_invitation__learned_and_served_then_kept_after_restart(tmp_path: Path) -> None:
    config = settings(data_dir=tmp_path, admin_token=TOKEN, model_refresh_s=0.2)
    clock = Clock(NOON_WEDNESDAY_LONDON)
    with TestClient(create_app(config, clock=clock)) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        client.portal.call(engine.sites.put, shop_config())  # type: ignore[union-attr]
        agents_online(client, 1)
        visitor = Visitor(client, clock, "v_learner001")
        visitor.browse(until=25)
        assert struggle(visitor, onset=25) is not None
        invite = visitor.decisions[0][1]["invite"]
        assert _model(client)["serving_version"] == 0

        visitor.at(40, {"t": "invite_shown", "invite": invite})
        visitor.at(41, {"t": "invite_accepted", "invite": invite})
        deadline = time.monotonic() + 8
        while _model(client)["serving_version"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        learned = _model(client)
        assert learned["serving_version"] > 0
        assert learned["committed"]["quality"]["labels"]["by_outcome"]["accepted"] == 1

    with TestClient(create_app(config, clock=clock)) as restarted:
        assert _model(restarted)["serving_version"] == learned["serving_version"]


def test_admin__without_or_with_wrong_token__401(tmp_path: Path) -> None:
    with TestClient(create_app(settings(data_dir=tmp_path, admin_token=TOKEN))) as client:
        missing = client.get("/v1/admin/sites/demo/model")
        wrong = client.get("/v1/admin/sites/demo/model", headers={"authorization": "Bearer nope"})
        unknown = client.get("/v1/admin/sites/nosuch/model", headers=ADMIN)

    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.json()["field"] == "Authorization" and missing.headers["www-authenticate"] == "Bearer"
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_site"
