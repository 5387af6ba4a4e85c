"""Every credential rule: the admin token (missing, wrong, wrong scheme), agent tokens (missing, wrong,
another site's, a disabled agent's, a rotated one), and settings that refuse weak tokens outside development."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from api import Settings, create_app
from tests.api.shopping import ORIGIN
from triggers.presets import demo_config

TOKEN = "credentials-admin-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
ADMIN_ENDPOINTS = [
    ("GET", "/v1/admin/sites/demo/model"),
    ("GET", "/v1/admin/sites/demo/agents"),
    ("POST", "/v1/admin/sites/demo/agents"),
    ("GET", "/v1/admin/sites/demo/chats"),
    ("DELETE", "/v1/admin/sites/demo/visitors/v_someone01"),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(public_url=ORIGIN, data_dir=tmp_path, admin_token=TOKEN)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(("method", "path"), ADMIN_ENDPOINTS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token-000000000000",
        f"Basic {TOKEN}",
        TOKEN,
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer ",
    ],
)
def test_admin_endpoint__missing_wrong_or_wrong_scheme__401_with_error_body(
    client: TestClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    response = client.request(method, path, headers=headers, json={"name": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == "admin_token_required" and response.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in response.text


def test_admin_endpoint__right_token_any_scheme_case__allowed(client: TestClient) -> None:
    assert client.get("/v1/admin/sites/demo/model", headers=ADMIN).status_code == 200
    assert client.get("/v1/admin/sites/demo/model", headers={"authorization": f"bearer {TOKEN}"}).status_code == 200


# -- agent tokens ----------------------------------------------------------------------------------


def agent(client: TestClient, site: str = "demo") -> tuple[str, str]:
    response = client.post(f"/v1/admin/sites/{site}/agents", json={"name": "Ada"}, headers=ADMIN)
    assert response.status_code == 201
    return response.json()["agent"]["id"], response.json()["token"]


def sign_in(client: TestClient, hello: object) -> dict[str, object]:
    """The first frame the console gets back after ``hello``."""
    with client.websocket_connect("/v1/agent/ws") as socket:
        socket.send_json(hello)
        return dict(socket.receive_json())


def refused(client: TestClient, hello: object) -> int:
    with client.websocket_connect("/v1/agent/ws") as socket:
        socket.send_json(hello)
        frame = socket.receive_json()
        assert frame["type"] == "error" and frame["error"] == "invalid_token"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    return closed.value.code


def test_agent_socket__valid_token__signed_in(client: TestClient) -> None:
    _, token = agent(client)
    assert sign_in(client, {"type": "hello", "token": token})["type"] == "hello"


@pytest.mark.parametrize(
    "hello",
    [
        {"type": "hello"},
        {"type": "hello", "token": ""},
        {"type": "hello", "token": "tfa.demo.a_000000000000.wrongsecretwrongsecret00"},
        {"type": "hello", "token": 12},
        ["not", "an", "object"],
    ],
)
def test_agent_socket__missing_or_wrong_token__refused_4401(client: TestClient, hello: object) -> None:
    assert refused(client, hello) == 4401


def test_agent_socket__token_of_another_site__refused(client: TestClient) -> None:
    document = demo_config([ORIGIN]).model_dump(mode="json") | {"site": "other"}
    assert client.put("/v1/admin/sites/other/config", json=document, headers=ADMIN).status_code in (200, 201)
    agent_id, token = agent(client, "other")
    secret = token.rsplit(".", 1)[1]
    assert refused(client, {"type": "hello", "token": f"tfa.demo.{agent_id}.{secret}"}) == 4401
    assert sign_in(client, {"type": "hello", "token": token})["type"] == "hello"  # on its own site it works


def test_agent_socket__disabled_agent__refused_then_enabled_again_works(client: TestClient) -> None:
    agent_id, token = agent(client)
    assert client.post(f"/v1/admin/sites/demo/agents/{agent_id}/disable", headers=ADMIN).status_code == 200
    assert refused(client, {"type": "hello", "token": token}) == 4401
    assert client.post(f"/v1/admin/sites/demo/agents/{agent_id}/enable", headers=ADMIN).status_code == 200
    assert sign_in(client, {"type": "hello", "token": token})["type"] == "hello"


def test_agent_socket__rotated_token__old_one_refused(client: TestClient) -> None:
    agent_id, old = agent(client)
    new = client.post(f"/v1/admin/sites/demo/agents/{agent_id}/token", headers=ADMIN).json()["token"]
    assert refused(client, {"type": "hello", "token": old}) == 4401
    assert sign_in(client, {"type": "hello", "token": new})["type"] == "hello"


def test_agent_list__never_shows_a_token_or_its_hash(client: TestClient) -> None:
    _, token = agent(client)
    listing = client.get("/v1/admin/sites/demo/agents", headers=ADMIN).text
    assert token.rsplit(".", 1)[1] not in listing and "token_sha256" not in listing


# -- settings -----------------------------------------------------------------------------------------


def test_settings__redis_without_admin_token__refused_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="TACTFUL_ADMIN_TOKEN"):
        Settings(redis_url="redis://127.0.0.1:6379/0")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "short",
        "changeme-changeme-changeme",
        "aaaaaaaaaaaaaaaaaaaa",
        "my-secret-admin-token-1234",
        "password1234567890",
    ],
)
def test_settings__empty_short_or_placeholder_token__refused(token: str) -> None:
    with pytest.raises(ValidationError, match="admin_token"):
        Settings(admin_token=token)


def test_settings__development_mode__redis_without_token_and_weak_token_allowed() -> None:
    assert Settings(redis_url="redis://127.0.0.1:6379/0", dev_mode=True).admin_token is None
    assert Settings(admin_token="changeme-changeme-changeme", dev_mode=True).admin_token


def test_settings__embedded_default__generates_a_random_token() -> None:
    settings = Settings()
    assert settings.admin_token is None and len(settings.admin_token_value()) >= 32


def test_settings__environment__dev_mode_read_from_tactful_dev_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACTFUL_REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("TACTFUL_DEV_MODE", "true")
    assert Settings().dev_mode
