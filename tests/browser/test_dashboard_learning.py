"""The dashboard's model panel while a site's own model learns, in real Chromium against a real server on Redis.

The server runs the site's learner in-process (``TACTFUL_RUN_LEARNER``). The test plays the API workers'
part: each visitor's events go into the app's store, which folds them into the features the tracker
extracts, and each invitation's decision snapshot and outcome become label records as ``api/decider.py``
writes them. The learner learns them and commits: one point of the learning curve per round.
Screenshots: var/screenshots/dashboard-learning*.png.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from api.store import RedisStore
from loadtests.redis_server import free_port
from scoring.prior import StrugglePrior
from tests.browser.conftest import SCREENSHOTS, axe_check, wait_for
from tests.browser.dashboards import app_on_redis, signed_in
from tests.factories import ev, page, prepared
from triggers import SiteConfig
from triggers.observe import observe
from triggers.presets import demo_config

pytestmark = [pytest.mark.browser, pytest.mark.redis]

TOKEN = "dashboard-learning-token-0123456789"
SITE = "shop"
CONFIG = SiteConfig.model_validate(
    demo_config(["https://shop.example"], site=SITE).model_dump(mode="json")
    | {"page_groups": {"account": ["/account", "/account/**"], "checkout": ["/cart", "/checkout", "/checkout/**"]}}
)
ROUND = 30
"""Invitations per round; the learner commits once a round."""
PRIOR = StrugglePrior()
"""What scored the shop's visitors when they were invited: the shop's model has learned nothing before this test."""


def explored(n: int) -> bool:
    return n % 9 == 4


@dataclass(frozen=True)
class Shop:
    """The shop's server, and its Redis for the label records the API workers would write."""

    url: str
    redis_url: str
    prefix: str

    def _run(self, work: Callable[[RedisStore], Coroutine[Any, Any, Any]]) -> Any:
        async def with_store() -> Any:
            store = RedisStore(aioredis.Redis.from_url(self.redis_url), prefix=self.prefix, shards=4)
            try:
                return await work(store)
            finally:
                await store.close()

        with ThreadPoolExecutor(1) as thread:  # Playwright's sync API owns this thread's event loop
            return thread.submit(lambda: asyncio.run(with_store())).result()

    def invitations(self, first: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A round of visitors who struggled and were invited: the decision records, and the outcome records
        their browsers sent. Half struggle with the sign-in form (they want the reset link and mostly say
        no), half at checkout (most take the chat); exploration invited some on milder struggle."""

        async def invite(store: RedisStore) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            decisions: list[dict[str, Any]] = []
            outcomes: list[dict[str, Any]] = []
            now_ms = int(time.time() * 1000)
            for n in range(first, first + ROUND):
                visitor, invite, start = f"v_learn{n:06d}", f"i_learn{n:06d}", now_ms - 60_000
                on_account = n % 2 == 0
                path, form, field = (
                    ("/account/sign-in", "sign-in", "password") if on_account else ("/checkout", "checkout", "postcode")
                )
                events = [page(start, "/"), page(start + 15_000, path)]
                for k in range(1 if explored(n) else 3):
                    events.append(ev("form_error", start + 20_000 + k * 2_000, field=field, form=form))
                if not explored(n):
                    events.append(ev("rage_click", start + 28_000, count=4))
                batch = prepared(events, site=SITE, visitor=visitor, session=f"s_learn{n:06d}", received_ms=now_ms)
                folded = await store.ingest(batch)
                features, _ = observe(CONFIG, folded.session, folded.visitor, now_ms)
                score, propensity = PRIOR.predict_proba_one(features), CONFIG.experiment.invite_probability(explored(n))
                decisions.append(
                    {
                        "k": "decision",
                        "invite": invite,
                        "features": features,
                        "score": score,
                        "model_version": 0,
                        "propensity": propensity,
                        "explored": explored(n),
                        "ts": now_ms,
                    }
                )
                answer = "accepted" if random.Random(n).random() < (0.1 if on_account else 0.8) else "dismissed"
                outcomes += [
                    {"k": "shown", "invite": invite, "ts": now_ms + 500},
                    {"k": answer, "invite": invite, "ts": now_ms + 4_000},
                ]
            return decisions, outcomes

        return self._run(invite)  # type: ignore[no-any-return]

    def append_labels(self, records: list[dict[str, Any]]) -> None:
        self._run(lambda store: store.append_labels(SITE, records))

    def committed(self, page_: Any, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The learner's committed quality report, once ``done`` says it has got that far."""

        def committed() -> dict[str, Any] | None:
            body = httpx.get(f"{self.url}/v1/admin/sites/{SITE}/model", headers={"authorization": f"Bearer {TOKEN}"})
            quality = body.json()["committed"] and body.json()["committed"]["quality"]
            return quality if quality and done(quality) else None

        committed.__name__ = "the learner's commit"
        return wait_for(committed, 15, lambda s: page_.wait_for_timeout(s * 1000))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def shop(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    prefix, port = f"learn{os.getpid()}", free_port()
    url = f"http://127.0.0.1:{port}"
    shop = Shop(url, redis_url, prefix)
    shop._run(lambda store: store.put_site_config(SITE, CONFIG.model_dump(mode="json")))
    settings = {"TACTFUL_REDIS_SHARDS": "4", "TACTFUL_RUN_LEARNER": "true"}
    with app_on_redis(redis_url, prefix, TOKEN, tmp_path_factory.mktemp("learn"), settings, port):
        yield shop


@pytest.fixture
def dashboard(browser: Any, shop: Shop) -> Iterator[tuple[Any, list[str]]]:
    """Signed in, the shop's report on screen."""
    context, page_, errors = signed_in(browser, shop.url, TOKEN)
    page_.wait_for_selector("#site option[value=shop]", state="attached")
    page_.select_option("#site", SITE)
    page_.wait_for_function("() => !document.querySelector('#report-status').textContent.startsWith('Loading')")
    yield page_, errors
    context.close()


def model_panel(page_: Any) -> str:
    """The model panel's text after a fresh load of the report."""
    page_.click("#refresh")
    page_.wait_for_function("() => !document.querySelector('#report-status').textContent.startsWith('Loading')")
    return str(page_.text_content("#model"))


def strength(weight: float) -> str:
    """docs/analytics.md: the word for a learned context weight of at least 0.15."""
    return "far" if abs(weight) >= 1.5 else "noticeably" if abs(weight) >= 0.6 else "slightly"


def test_model_panel__labels_learned_round_by_round__curve_learned_contexts_and_exploration_share(
    dashboard: tuple[Any, list[str]], shop: Shop
) -> None:
    page_, errors = dashboard
    empty = "No labelled invitations yet"
    assert empty in model_panel(page_)  # nothing committed yet
    decisions, answers = shop.invitations(0)
    shop.append_labels(decisions)
    shop.committed(page_, lambda q: q["labels"]["decisions_regular"] > 0)
    assert empty in model_panel(page_)  # invited and committed, but no answer: still no label, no curve
    assert page_.locator("#model svg").count() == 0

    shop.append_labels(answers)
    labels = ROUND
    quality = shop.committed(page_, lambda q: q["n_learned"] == ROUND)
    for _ in range(3):  # a round answered at a time: a commit, and a point of the curve, each
        decisions, answers = shop.invitations(labels)
        shop.append_labels(decisions + answers)
        labels += ROUND
        quality = shop.committed(page_, lambda q: q["n_learned"] == labels)  # noqa: B023 (called at once)
    text = model_panel(page_)

    history, losses, learned = quality["history"], quality["progressive_log_loss"], quality["learned"]
    assert history[0]["n_learned"] == 0 and history[0]["prior_log_loss"] is None  # the answer-less commit
    for kind in ("prior", "model", "blend"):
        drawn = page_.get_attribute(f"#model svg path.line.{kind}", "d")
        assert drawn.count("M") + drawn.count("L") == sum(p[f"{kind}_log_loss"] is not None for p in history) >= 4
    assert losses["model"] < losses["prior"] and quality["model_weight"] > 0  # what this shop's answers teach
    say = math.floor(quality["model_weight"] * 100 + 0.5)  # as Math.round
    assert (
        f"The model has {say}% of the say after {labels} labels; on this site's recent labels it predicts better "
        "than the built-in prior: log loss "
    ) in text
    account = learned["contexts"]["page=account"]
    assert account <= -0.15  # sign-in strugglers decline a chat more often than their struggle suggests
    sentence = f"Visitors on the account pages take a chat {strength(account)} less often than their struggle suggests."
    assert sentence in page_.locator("#model .learned li").all_text_contents()
    invited_to_learn = sum(explored(n) for n in range(labels))
    assert quality["labels"]["decisions_explored"] == invited_to_learn
    share = f"{100 * invited_to_learn / labels:.1f}%"
    assert f"Invitations from exploration: {share} ({invited_to_learn} of {labels})" in text
    assert "The holdout is not exploration" in text

    assert [v for v in axe_check(page_, "#model") if v["impact"] in ("serious", "critical")] == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_.screenshot(path=str(SCREENSHOTS / "dashboard-learning.png"), full_page=True)
    page_.locator("article", has=page_.locator("#model")).screenshot(
        path=str(SCREENSHOTS / "dashboard-learning-panel.png")
    )
    assert errors == []
