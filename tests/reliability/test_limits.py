"""Rate limits on collect (per IP, per visitor) and on WebSocket frames; the bucket table stays bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api import create_app
from api.limits import CLOSE_POLICY, CLOSE_TOO_BIG, RateLimiter, SocketLimits
from tests.api.conftest import settings
from tests.api.shopping import ORIGIN
from tests.factories import DESIGN_EXAMPLE


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def batch(visitor: str) -> dict[str, Any]:
    return DESIGN_EXAMPLE | {"visitor": visitor, "events": DESIGN_EXAMPLE["events"][:1]}


def test_rate_limiter__burst_spent__waits_one_token_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("k") == 0.0
    assert limiter.take("other") == 0.0  # keys are independent


def test_rate_limiter__flood_of_keys__table_stays_at_max_keys() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_keys=1000)
    for n in range(50_000):
        limiter.take(f"ip{n}")
    assert len(limiter) == 1000


def test_rate_limiter__rate_zero__never_limits() -> None:
    limiter = RateLimiter(rate=0.0, burst=1)
    assert all(limiter.take("k") == 0.0 for _ in range(1000))


def test_collect__one_visitor_over_its_burst__429_with_retry_after_and_error_body(tmp_path: Path) -> None:
    app = create_app(settings(data_dir=tmp_path, rate_limit_visitor_per_s=0.5, rate_limit_visitor_burst=3))
    with TestClient(app) as client:
        statuses = [client.post("/v1/collect", json=batch("v_limited01"), headers={"origin": ORIGIN}) for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        refused = statuses[-1]
        assert refused.json() == {
            "error": "rate_limited",
            "field": "visitor",
            "message": "too many requests for this visitor; keep the batch and retry",
        }
        assert refused.headers["retry-after"] == "2"
        assert refused.headers["access-control-allow-origin"] == ORIGIN  # the browser can read Retry-After
        # Another visitor from the same address is not affected.
        assert client.post("/v1/collect", json=batch("v_another01"), headers={"origin": ORIGIN}).status_code == 200


def test_collect__one_address_over_its_burst__429_before_the_body_is_read(tmp_path: Path) -> None:
    app = create_app(settings(data_dir=tmp_path, rate_limit_ip_per_s=1, rate_limit_ip_burst=5))
    with TestClient(app) as client:
        statuses = [client.post("/v1/collect", json=batch(f"v_visitor{n:04d}")).status_code for n in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = client.post("/v1/collect", content=b"x" * 100_000)  # not even read: no 413
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1


def test_collect__limits_set_to_zero__never_429(tmp_path: Path) -> None:
    app = create_app(
        settings(
            data_dir=tmp_path,
            rate_limit_ip_per_s=0,
            rate_limit_visitor_per_s=0,
            rate_limit_visitor_burst=1,
            rate_limit_ip_burst=1,
        )
    )
    with TestClient(app) as client:
        assert {client.post("/v1/collect", json=batch("v_unlimited")).status_code for _ in range(20)} == {200}


# -- WebSocket frames ---------------------------------------------------------------------------


class FakeSocket:
    """What SocketLimits reads from and closes: a queue of incoming ASGI messages."""

    def __init__(self, *frames: str) -> None:
        self.frames = [{"type": "websocket.receive", "text": frame} for frame in frames]
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> dict[str, Any]:
        return self.frames.pop(0) if self.frames else {"type": "websocket.disconnect", "code": 1000}

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_socket_limits__frame_over_max_bytes__closed_with_1009() -> None:
    socket = FakeSocket(orjson.dumps({"type": "msg", "text": "x" * 600}).decode())
    with pytest.raises(WebSocketDisconnect):
        await SocketLimits(max_bytes=512).receive_json(socket)  # type: ignore[arg-type]
    assert socket.closed is not None and socket.closed[0] == CLOSE_TOO_BIG


async def test_socket_limits__faster_than_the_rate__closed_with_1008_after_the_burst() -> None:
    clock = FakeClock()
    socket = FakeSocket(*['{"type": "typing"}'] * 10)
    limits = SocketLimits(rate=1.0, burst=5, clock=clock)
    frames = [await limits.receive_json(socket) for _ in range(5)]  # type: ignore[arg-type]
    assert frames == [{"type": "typing"}] * 5
    with pytest.raises(WebSocketDisconnect):
        await limits.receive_json(socket)  # type: ignore[arg-type]
    assert socket.closed is not None and socket.closed[0] == CLOSE_POLICY


async def test_socket_limits__client_hangs_up__disconnect_raised() -> None:
    with pytest.raises(WebSocketDisconnect):
        await SocketLimits().receive_json(FakeSocket())  # type: ignore[arg-type]
