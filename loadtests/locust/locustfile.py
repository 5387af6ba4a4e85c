"""Locust scenarios: realistic shop visitors (``ShopVisitor``) and the benchmark's firehose.

``ShopVisitor`` plays one proving-ground visitor after another (``loadtests.proving``: a persona's visit, sent
as the batches the tracker would send, ``ground.batches``) with the tracker's real pacing (scaled by
``TACTFUL_LOAD_PACE``: 0.2 waits a fifth as long, and the events' times are scaled with it, so the server sees
the visit as it happened, only faster), answers invitations as the visit's truth says (``ground.acceptance``;
a visitor who accepts is in a chat, and the rest of their script never happens), and
reports the server's own time (``Server-Timing``) as a separate locust entry, ``server collect``,
so latency percentiles exclude the load generator's queueing. With ``TACTFUL_BENCH_TIMINGS`` set to a
file path, every answered collect's (time, server ms) is written there as JSON when the run stops,
instead of the entry: ``tactful bench`` takes its percentiles and latency over time from it.

Run: ``locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 ShopVisitor``
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from locust import FastHttpUser, constant, events, task

if TYPE_CHECKING:
    from loadtests.proving.personas import Visit

PACE = float(os.environ.get("TACTFUL_LOAD_PACE", "1.0"))
HEADERS = {"content-type": "application/json"}
TIMINGS_PATH = os.environ.get("TACTFUL_BENCH_TIMINGS")
DEMO_PATH = "/demo"
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


def new_visit(rng: random.Random) -> Visit:
    """One proving-ground visit of a persona drawn from the shop's mix, under fresh ids (no earlier visit: it
    would have happened days ago)."""
    from loadtests.proving.personas import generate  # imported by the users that need it: it loads the engine

    (visit,) = generate(1, rng.getrandbits(31), 0, returning_share=0.0)
    return dataclasses.replace(visit, visitor=f"v_{uuid.uuid4().hex[:16]}", session=f"s_{uuid.uuid4().hex[:12]}")


class ShopVisitor(CollectingUser):
    """Visitors of the shop, one after another, as the tracker would send their events."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = random.Random()

    @task
    def visit(self) -> None:
        from loadtests.proving.ground import batches

        visit, started_ms = new_visit(self.rng), time.time() * 1000
        for planned_ms, batch in batches(visit):
            self.sleep_until(visit, started_ms, planned_ms)
            decision = self.send(visit, started_ms, batch)
            if decision and decision.get("action") == "invite" and self.answer(visit, started_ms, planned_ms, decision):
                return  # accepted: in a chat, the rest of the visit never happens

    def answer(self, visit: Visit, started_ms: float, invited_ms: int, decision: dict[str, Any]) -> bool:
        """The widget's report of an invitation: shown, then accepted, dismissed or ignored a few seconds
        later, as likely as the visit's truth says; nothing if the visitor leaves first. True when accepted."""
        from loadtests.proving.ground import SHOWN_DELAY_MS, acceptance

        invite = decision["invite"]
        shown_ms = invited_ms + SHOWN_DELAY_MS
        answer_ms = shown_ms + int(self.rng.uniform(2.0, 10.0) * 1000)
        if answer_ms >= visit.leave_ms:
            return False
        self.sleep_until(visit, started_ms, answer_ms)
        shown = {"t": "invite_shown", "ts": shown_ms, "invite": invite}
        if self.rng.random() < acceptance(visit, answer_ms):
            self.send(visit, started_ms, [shown, {"t": "invite_accepted", "ts": answer_ms, "invite": invite}])
            return True
        if self.rng.random() < 0.7:
            self.send(visit, started_ms, [shown, {"t": "invite_dismissed", "ts": answer_ms, "invite": invite}])
        else:
            self.send(visit, started_ms, [shown])
        return False

    def send(self, visit: Visit, started_ms: float, batch: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The batch as the tracker posts it: its events at their wall-clock times, its pages where the demo
        shop serves them, ``sent_at`` now."""
        stamped = [_on_demo({**event, "ts": _wall(visit, started_ms, event["ts"])}) for event in batch]
        body = {"v": 1, "site": "demo", "visitor": visit.visitor, "session": visit.session, "events": stamped}
        return self.post_batch(body | {"sent_at": int(time.time() * 1000)})

    def sleep_until(self, visit: Visit, started_ms: float, planned_ms: int) -> None:
        wait_s = _wall(visit, started_ms, planned_ms) / 1000 - time.time()
        if wait_s > 0:
            time.sleep(wait_s)  # gevent patches time.sleep: only this user waits


def _on_demo(event: dict[str, Any]) -> dict[str, Any]:
    """The proving ground's shop is the demo site, served under ``/demo``: its page views' paths go there."""
    if event["t"] == "page_view":
        event["path"] = DEMO_PATH + event["path"] if event["path"] != "/" else DEMO_PATH + "/"
    return event


def _wall(visit: Visit, started_ms: float, planned_ms: int) -> int:
    """The wall-clock instant of the visit's simulated ``planned_ms``, at the run's pace."""
    return int(started_ms + (planned_ms - visit.arrive_ms) * PACE)


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
        self.visitor, self.session = f"v_{uuid.uuid4().hex[:16]}", f"s_{uuid.uuid4().hex[:12]}"
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
        body = {"v": 1, "site": "demo", "visitor": self.visitor, "session": self.session, "events": events}
        self.post_batch(body | {"sent_at": max(int(time.time() * 1000), self.next_ts - 1)})
