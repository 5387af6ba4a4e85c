"""Locust scenario for the benchmark: visitors posting batches to /v1/collect as fast as answered.

``TACTFUL_BENCH_BATCH`` sets the events per request; each simulated user is one visitor.
"""

from __future__ import annotations

import os
import random
import uuid

from locust import FastHttpUser, constant, task

from loadtests.bodies import collect_body

BATCH = int(os.environ.get("TACTFUL_BENCH_BATCH", "10"))


class CollectingVisitor(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.visitor = f"v_{uuid.uuid4().hex[:16]}"
        self.session = f"s_{uuid.uuid4().hex[:12]}"

    @task
    def collect(self) -> None:
        body = collect_body(self.visitor, self.session, BATCH, self.rng)
        with self.client.post("/v1/collect", data=body,  # type: ignore[arg-type]  # bytes are sent as they are headers={"content-type": "application/json"},
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
