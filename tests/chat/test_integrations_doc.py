"""docs/integrations.md's verify snippet is the real function, and run as documented it verifies a real
signed delivery (issue #18: the documented call raised TypeError against the code's signature)."""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api.chat import webhooks
from tests.chat.conftest import Served
from tests.chat.test_webhooks import SECRET, Receiver

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def documented_verify() -> tuple[str, Callable[..., bool]]:
    """The python block under "Verifying the signature", run on its own: no Tactful import in reach."""
    section = DOC.read_text("utf-8").split("## Verifying the signature", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/integrations.md has no python block under 'Verifying the signature'"
    namespace: dict[str, Any] = {"__name__": "receiver"}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)  # our own doc, run as a receiver would
    return match.group(1), namespace["verify"]


def test_integrations_doc__verify_snippet__is_the_code_verbatim() -> None:
    snippet, _ = documented_verify()
    assert inspect.getsource(webhooks.verify) in snippet


async def test_integrations_doc__verify_snippet__accepts_a_real_delivery_refuses_forgeries(
    served: Served, helpdesk: Receiver
) -> None:
    _, verify = documented_verify()
    async with served.http() as admin:
        assert (
            await admin.put("/v1/admin/sites/demo/webhook", json={"url": helpdesk.url, "secret": SECRET})
        ).status_code == 200
    visitor_id, invite = await served.invite()
    await served.visitor(visitor_id, invite)  # chat.requested, signed and sent by the real delivery loop
    deadline = time.monotonic() + 8
    while not helpdesk.requests:
        assert time.monotonic() < deadline, "no delivery"
        await asyncio.sleep(0.05)
    headers, body, _ = helpdesk.requests[0]
    signature = headers["Tactful-Signature"]
    signed_at = int(re.match(r"t=(\d+)", signature).group(1))  # type: ignore[union-attr]

    assert verify(SECRET, signature, body)  # exactly as the doc says to call it
    assert not verify(SECRET, signature, body.replace(invite.encode(), b"i_forged00000"))
    assert not verify("whsec_not_the_secret_00000", signature, body)
    assert not verify(SECRET, signature.replace("t=", "t=1"), body)
    assert not verify(SECRET, "v1=" + "0" * 64, body)
    assert not verify(SECRET, signature, body, now_s=signed_at + 301)  # a replay, five minutes on
    assert verify(SECRET, signature, body, now_s=signed_at + 301, tolerance_s=600)
    with pytest.raises(TypeError):
        verify(SECRET, signature, body, time.time())  # the options are named: no silent misuse
