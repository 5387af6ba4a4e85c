"""The baseline: a bare FastAPI endpoint that only parses the same body and answers like collect.

Every benchmark figure is reported as a ratio against this app, measured in the same run on
the same machine, so that a noisy shared machine still gives comparable numbers.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/v1/collect")
async def collect(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return Response(orjson.dumps({"accepted": len(body["events"]), "decision": None}), media_type="application/json")
