"""The app the benchmark measures: the served app (``api.main``), built with a counting meter.

``GET /bench/meter`` reads the meter: this process's collect requests and the store round trips
they made. It exists in this app only; the served product has no such endpoint.
"""

from __future__ import annotations

from fastapi import Response

from api.app import create_app, settle_for_serving
from api.meter import CountingMeter
from api.responses import json_response
from loadtests.bench import METER_PATH

meter = CountingMeter()
app = create_app(meter=meter)


async def read_meter() -> Response:
    return json_response(meter.reading())


app.add_api_route(METER_PATH, read_meter, methods=["GET"], include_in_schema=False)
settle_for_serving()
