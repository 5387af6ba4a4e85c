"""Locust scenarios: realistic shop visitors (``ShopVisitor``) and the benchmark's firehose.

``ShopVisitor`` plays one simulated visitor after another with the tracker's real pacing (scaled by
``TACTFUL_LOAD_PACE``: 0.2 waits a fifth as long), answers invitations the way its persona does, and
reports the server's own time (``Server-Timing``) as a separate locust entry, ``server collect``,
so latency percentiles exclude the load generator's queueing. With ``TACTFUL_BENCH_TIMINGS`` set to a
file path, every answered collect's (time, server ms) is written there as JSON when the run stops,
instead of the entry: ``tactful bench`` takes its percentiles and latency over time from it.

Run: ``locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 ShopVisitor``
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import orjson
from locust import FastHttpUser, constant, events, task

from loadtests.visitors import Step, VisitorSimulator, envelope, random_persona

PACE = float(os.environ.get("TACTFUL_LOAD_PACE", "1.0"))
HEADERS = {"content-type": "application/json"}
TIMINGS_PATH = os.environ.get("TACTFUL_BENCH_TIMINGS")
_timings: list[tuple[float, float]] = []


def _write_timings(**_: Any) -> None:
    if TIMINGS_PATH:
        with open(TIMINGS_PATH, "wb") as out:
            out.write(orjson.dumps(_timings))


events.test_stop.add_listener(_write_timings)  # type: ignore[no-untyped-call]


def server_ms(response: Any) -> float | None:
    """The ``app;dur=`` of a Server-Timing header, in ms."""
    timing = response.headers.get("server-timing", "") if response.headers else ""
    for part in timing.split(";"):
        if part.startswith("dur="):
            return float(part[4:])
    return None


class CollectingUser(FastHttpUser):
    abstract = True

    def post_batch(self, body: dict[str, Any]) -> dict[str, Any] | None:
        with self.client.post(
            "/v1/collect",
            data=orjson.dumps(body),  # type: ignore[arg-type]  # locust's stub says str; bytes go as they are
            headers=HEADERS,
            catch_response=True,
            name="/v1/collect",
        ) as response:
            if response.status_code != 200:
                # Nothing answered (status 0): the connection error says why.
                detail = repr(response.error) if response.status_code == 0 else (response.text or "")[:200]
                response.failure(f"status {response.status_code}: {detail}")
                return None
            duration = server_ms(response)
            if duration is not None:
                if TIMINGS_PATH:
                    # The benchmark reads the file, not the entry: firing it cost the load generator,
                    # which shares the server's cores, more per answer than a bare endpoint's answer
                    # costs it (a bare endpoint sends no Server-Timing).
                    _timings.append((time.time(), duration))
                else:
                    self.environment.events.request.fire(
                        request_type="SERVER",
                        name="server collect",
                        response_time=duration,
                        response_length=0,
                        exception=None,
                        context={},
                    )
            decision: dict[str, Any] | None = orjson.loads(response.content)["decision"]
            return decision


class ShopVisitor(CollectingUser):
    """Visitors of the demo shop, one after another, as the tracker would send their events."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = random.Random()

    @task
    def visit(self) -> None:
        simulator = VisitorSimulator(random_persona(self.rng), self.rng)
        for step in simulator.journey():
            self.pause(step)
            decision = self.post_batch(envelope(simulator, step.events))
            answer = simulator.respond(decision)
            if answer:
                self.pause(Step(self.rng.uniform(2, 8), []))
                self.post_batch(envelope(simulator, answer))

    def pause(self, step: Step) -> None:
        if step.wait_s > 0:
            time.sleep(step.wait_s * PACE)  # gevent patches time.sleep: only this user waits


def poisson(rate: float) -> Any:
    """Waits between a user's requests drawn so that its requests are a Poisson stream at ``rate`` per s.

    Independent visitors do not send in step. A constant rate per user, with every user started in
    the same second, kept them in step: the whole user count arrived as one burst each interval, and
    the server's p99 measured the burst, not the load.
    """

    def wait(user: Any) -> float:
        return float(user.rng.expovariate(rate))

    return wait


class FirehoseVisitor(CollectingUser):
    """The benchmark's load: each user one visitor sending ``TACTFUL_BENCH_BATCH`` events per request,
    back to back as fast as answered, or as a Poisson stream of ``TACTFUL_BENCH_RATE`` requests per
    second per user."""

    wait_time = (
        poisson(float(os.environ["TACTFUL_BENCH_RATE"])) if os.environ.get("TACTFUL_BENCH_RATE") else constant(0)
    )

    def on_start(self) -> None:
        self.rng = random.Random()
        self.simulator = VisitorSimulator("browser", self.rng)
        self.batch = int(os.environ.get("TACTFUL_BENCH_BATCH", "10"))
        self.next_ts = 0

    @task
    def collect(self) -> None:
        from loadtests.bodies import KINDS as kinds
        from loadtests.bodies import event

        now = int(time.time() * 1000)
        # Each event a new one, as a browser's tracker sends them: a user answered within the batch's
        # span must not repeat the previous batch's timestamps (a heartbeat at the same time is the
        # same event, a duplicate the store would skip). A user sending more than 1000 / batch
        # requests a second runs its clock ahead of real time; its sent_at runs ahead with it, like
        # a browser whose clock is fast, and the server corrects the events by the difference.
        start = max(now - self.batch, self.next_ts)
        self.next_ts = start + self.batch
        events = [event(kinds[(start + i) % len(kinds)], start + i, self.rng) for i in range(self.batch)]
        body = envelope(self.simulator, events)
        body["sent_at"] = max(body["sent_at"], self.next_ts - 1)
        self.post_batch(body)
