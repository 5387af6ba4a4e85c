"""Admin endpoints for the model: what each worker serves, and a score for given features."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Response

from api.auth import AdminDep
from api.deps import EngineDep, StoreDep
from api.responses import json_response

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def _known_site(engine: EngineDep, site: str) -> None:
    if engine.sites.get(site) is None:
        raise HTTPException(404, {"error": "unknown_site", "field": "site", "message": f"no site {site!r}"})


@router.get("/sites/{site}/model")
async def model(site: str, engine: EngineDep, store: StoreDep, _: AdminDep) -> Response:
    """The model this worker scores with, and the learner's last commit with its live quality."""
    _known_site(engine, site)
    models = engine.decider.models
    committed = await store.get_model(site)
    return json_response(
        {
            "site": site,
            "serving_version": models.version(site),
            "committed": None if committed is None else {"version": committed[0], "quality": committed[2]},
        }
    )


@router.post("/sites/{site}/score")
async def score(
    site: str, engine: EngineDep, _: AdminDep, features: Annotated[dict[str, float], Body(embed=True)]
) -> Response:
    """Score a feature dict with the model this worker serves (missing features count as 0)."""
    _known_site(engine, site)
    models = engine.decider.models
    scorer = models.scorer(site)
    return json_response(
        {
            "score": scorer.predict_proba_one(features),
            "version": models.version(site),
            "reasons": scorer.explain(features),
        }
    )
