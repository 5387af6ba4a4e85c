"""What one collect request does, from raw body to response, outside of HTTP.

The route hands over bytes and headers and gets back a status and a JSON-able
body; everything between (validation, site and origin checks, the store call,
features, scoring, the decision) is here, so the same path serves the API, the
tests and the benchmarks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from api import prometheus
from api.decider import Decider
from api.limits import CollectLimits, retry_after
from api.meter import NO_METER, Meter
from api.sites import SiteDirectory
from api.store import StoreUnavailable, VisitorLog
from tracker.ingest import prepare
from tracker.validation import ProtocolError, parse_batch
from triggers.context import Privacy

RETRY_AFTER_S = 2


@dataclass(slots=True)  # not frozen: built on every collect (see tracker.ingest)
class Outcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def error_outcome(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Outcome:
    return Outcome(status, {"error": code, "field": field, "message": message}, headers or {})


class Engine:
    def __init__(
        self, store: VisitorLog, sites: SiteDirectory, decider: Decider, clock: Any = time.time, meter: Meter = NO_METER
    ) -> None:
        self.store = store
        self.sites = sites
        self.decider = decider
        self.meter = meter
        self.limits: CollectLimits | None = None  # per-visitor rate limit (api/app.py sets it from settings)
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def collect(self, body: bytes, origin: str | None, privacy: Privacy | None = None) -> Outcome:
        self.meter.collecting()  # this request's task only: its store round trips count against collect
        try:
            batch = parse_batch(body)
        except ProtocolError as error:
            return Outcome(error.status, error.body(), {})
        if self.limits is not None and (wait := self.limits.visitor(batch.site, batch.visitor)):
            prometheus.RATE_LIMITED.labels("visitor").inc()
            return error_outcome(
                429,
                "rate_limited",
                "too many requests for this visitor; keep the batch and retry",
                "visitor",
                {"Retry-After": retry_after(wait)},
            )
        config = self.sites.get(batch.site)
        if config is None:
            return error_outcome(401, "unknown_site", f"no site is configured with key {batch.site!r}", "site")
        if not config.allows_origin(origin):
            return error_outcome(
                403, "origin_not_allowed", f"origin {origin!r} may not send events for this site", "Origin"
            )
        now_ms = self.now_ms()
        prepared = prepare(batch, now_ms)
        try:
            result = await self.store.ingest(prepared)
        except StoreUnavailable:
            prometheus.STORE_UNAVAILABLE.labels("collect").inc()
            return error_outcome(
                503,
                "store_unavailable",
                "state store unavailable; keep the batch and retry",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        try:
            decision = await self.decider.after_ingest(config, prepared, result, privacy or Privacy(), now_ms)
        except StoreUnavailable:
            decision = None  # the events are stored; without the store there is no safe invitation
        if decision is None:
            return Outcome(200, {"accepted": len(batch.events), "decision": None}, {})
        answer: dict[str, Any] = {"accepted": len(batch.events), "decision": decision.to_wire()}
        if decision.recheck_in_ms is not None:
            answer["recheck_in_ms"] = decision.recheck_in_ms
        return Outcome(200, answer, {})
