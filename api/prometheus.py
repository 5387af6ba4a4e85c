"""Prometheus metrics, served at ``/metrics``.

Counters and histograms live in prometheus-client's default registry. With
several worker processes ``PROMETHEUS_MULTIPROC_DIR`` names one directory for
all workers of a host (``tactful serve --workers N`` sets one up): each worker
then writes its samples there and ``/metrics`` sums them, whichever worker
answers. The model's version and label counts are read at scrape time from the
answering worker's model cache (every worker converges on the same committed
model within ``TACTFUL_MODEL_REFRESH_S``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from triggers.context import Decision

REQUEST_SECONDS = Histogram(
    "tactful_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RESPONSES = Counter("tactful_responses_total", "HTTP responses by route template and status class", ["route", "status"])
EVENTS_ACCEPTED = Counter("tactful_events_accepted_total", "Events in collect requests answered 200")
COLLECT_REJECTED = Counter(
    "tactful_collect_rejected_total", "Collect requests refused, by error code (the body's `error`)", ["reason"]
)
DECISIONS = Counter(
    "tactful_decisions_total", "Trigger decisions, by reason code (one decision has several)", ["reason"]
)
INVITATIONS = Counter("tactful_invitations_total", "Invitations made, by mode (agent, bot, offline)", ["mode"])
CHATS = Counter("tactful_chats_total", "Chats opened by visitors and started by agents", ["stage"])
STORE_UNAVAILABLE = Counter(
    "tactful_store_unavailable_total", "Times the state store did not answer a request's call (answered 503)", ["where"]
)
RATE_LIMITED = Counter("tactful_rate_limited_total", "Requests and socket frames refused by a rate limit", ["limit"])


def observe_collect(status: int, body: Mapping[str, Any]) -> None:
    if status == 200:
        EVENTS_ACCEPTED.inc(body.get("accepted", 0))
    else:
        COLLECT_REJECTED.labels(str(body.get("error", status))).inc()


_DECISIONS_BY_CODE: dict[str, Any] = {}


def observe_decision(decision: Decision, codes: list[str]) -> None:
    """``codes``: ``decision.codes``, which the caller has already."""
    for code in codes:
        # Our own cache of the labelled children: ``labels()`` takes a lock and checks its
        # arguments, which cost more than the policy's reasons on every collect.
        child = _DECISIONS_BY_CODE.get(code)
        if child is None:
            child = _DECISIONS_BY_CODE[code] = DECISIONS.labels(code)
        child.inc()
    if decision.action == "invite":
        INVITATIONS.labels(str(decision.mode)).inc()


class ModelCollector:
    """``tactful_model_version`` and ``tactful_model_labels`` per site, from a worker's model cache."""

    def __init__(self, models: Any) -> None:
        self.models = models

    def collect(self) -> Iterator[Metric]:
        version = GaugeMetricFamily("tactful_model_version", "Model version this worker scores with", labels=["site"])
        learned = GaugeMetricFamily(
            "tactful_model_examples", "Training examples in the committed model", labels=["site"]
        )
        labels = GaugeMetricFamily(
            "tactful_model_labels", "Label outcomes the committed model learned from", labels=["site", "outcome"]
        )
        for site, quality in sorted(self.models.qualities().items()):
            version.add_metric([site], float(self.models.version(site)))
            learned.add_metric([site], float(quality.get("n_learned", 0)))
            by_outcome = (quality.get("labels") or {}).get("by_outcome") or {}
            for outcome, count in sorted(by_outcome.items()):
                labels.add_metric([site, str(outcome)], float(count))
        yield from (version, learned, labels)


def exposition(models: Any | None) -> bytes:
    """The text exposition: process-wide metrics (summed over workers in multiprocess mode), then the model's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if models is not None and hasattr(models, "qualities"):
        per_app = CollectorRegistry(auto_describe=False)
        per_app.register(ModelCollector(models))
        text += generate_latest(per_app)
    return text


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format. Expose it to your scraper only (it names sites and reason codes)."""
    engine = getattr(request.app.state, "engine", None)
    models = getattr(getattr(engine, "decider", None), "models", None)
    return Response(exposition(models), media_type=CONTENT_TYPE_LATEST)
