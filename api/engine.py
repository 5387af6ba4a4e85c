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

from api.decisions import DecisionPolicy
from api.sites import SiteDirectory
from tracker.features import describe, extract
from tracker.ingest import prepare
from tracker.store import Store, StoreUnavailable
from tracker.validation import ProtocolError, parse_batch

RETRY_AFTER_S = 2


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _error(status: int, code: str, message: str, field: str | None = None,
           headers: dict[str, str] | None = None) -> Outcome:
    return Outcome(status, {"error": code, "field": field, "message": message}, headers or {})


class Engine:
    def __init__(self, store: Store, sites: SiteDirectory, policy: DecisionPolicy,
                 clock: Any = time.time) -> None:
        self.store = store
        self.sites = sites
        self.policy = policy
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def collect(self, body: bytes, origin: str | None) -> Outcome:
        try:
            batch = parse_batch(body)
        except ProtocolError as error:
            return Outcome(error.status, error.body(), {})
        config = self.sites.get(batch.site)
        if config is None:
            return _error(401, "unknown_site", f"no site is configured with key {batch.site!r}", "site")
        if not config.allows_origin(origin):
            return _error(403, "origin_not_allowed", f"origin {origin!r} may not send events for this site",
                          "Origin")
        now_ms = self.now_ms()
        prepared = prepare(batch, now_ms)
        try:
            result = await self.store.ingest(prepared)
        except StoreUnavailable:
            return _error(503, "store_unavailable", "state store unavailable; keep the batch and retry",
                          headers={"Retry-After": str(RETRY_AFTER_S)})
        decision = None
        if not result.stale:
            features = extract(result.session, result.visitor, now_ms)
            facts = describe(result.session, result.visitor, now_ms)
            decision = self.policy.decide(config, batch.visitor, features, facts, now_ms)
        return Outcome(200, {"accepted": len(batch.events), "decision": decision}, {})
