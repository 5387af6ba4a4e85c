"""Admin endpoints for a site's config: read, replace, dry-run, history and rollback."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Response

from api.auth import AdminDep
from api.config_history import ConfigConflict, ConfigHistory, Saved
from api.deps import EngineDep, SettingsDep, StoreDep
from api.responses import json_response
from triggers import SiteConfig

router = APIRouter(prefix="/v1/admin", tags=["config"])

_AUTHOR = re.compile(r"[^\w .@'-]")


async def get_history(engine: EngineDep, store: StoreDep) -> ConfigHistory:
    return ConfigHistory(store, engine.sites, engine.now_ms)


HistoryDep = Annotated[ConfigHistory, Depends(get_history)]
Document = Annotated[
    Any, Body(description="a site config document (docs/configuration.md)", json_schema_extra={"type": "object"})
]


async def author(
    settings: SettingsDep,
    x_tactful_author: Annotated[str | None, Header(description="who is making the change")] = None,
) -> str:
    """The name the editor gave, else the admin token's label."""
    name = _AUTHOR.sub("", x_tactful_author or "").strip()[:64]
    return name or settings.admin_label


AuthorDep = Annotated[str, Depends(author)]
IfMatch = Annotated[str | None, Header(description="the version the edit started from; 409 if another was saved")]


def _expected(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    try:
        return int(if_match.strip().strip('"'))
    except ValueError:
        raise HTTPException(
            400,
            {
                "error": "invalid_value",
                "field": "If-Match",
                "message": "If-Match is the config version the edit started from",
            },
        ) from None


def _saved(result: Saved) -> Response:
    if not result.valid:
        count = len(result.problems)
        first = result.problems[0]
        raise HTTPException(
            422,
            {
                "error": "invalid_config",
                "field": first["field"],
                "message": f"{count} problem{'s' if count > 1 else ''}: "
                + "; ".join(f"{p['field']}: {p['message']}" for p in result.problems),
                "errors": result.problems,
            },
        )
    return json_response({"version": result.version, "changes": result.changes, "config": result.document})


def _not_found(site: str, version: int | None = None) -> HTTPException:
    if version is None:
        return HTTPException(404, {"error": "unknown_site", "field": "site", "message": f"no site {site!r}"})
    return HTTPException(
        404,
        {"error": "unknown_version", "field": "version", "message": f"site {site!r} has no recorded version {version}"},
    )


async def _save(
    history: ConfigHistory, site: str, document: Any, author: str, note: str, if_match: str | None
) -> Response:
    try:
        return _saved(await history.save(site, document, author, note, _expected(if_match)))
    except ConfigConflict as conflict:
        raise HTTPException(
            409,
            {"error": "version_conflict", "field": "If-Match", "message": str(conflict), "current": conflict.current},
        ) from None


@router.get("/config/schema")
async def config_schema(_: AdminDep) -> Response:
    """The JSON Schema of a site config document (the dashboard's editor is built from it)."""
    return json_response(SiteConfig.model_json_schema())


@router.get("/sites")
async def sites(engine: EngineDep, _: AdminDep) -> Response:
    return json_response({"sites": sorted(engine.sites.keys())})


@router.get("/sites/{site}/config")
async def read_config(site: str, history: HistoryDep, _: AdminDep) -> Response:
    """The site's config in force, with its version, who saved it and when."""
    current = await history.current(site)
    if current is None:
        raise _not_found(site)
    return json_response(current, headers={"ETag": f'"{current["version"]}"'})


@router.put("/sites/{site}/config")
async def replace_config(
    site: str, document: Document, history: HistoryDep, who: AuthorDep, _: AdminDep, if_match: IfMatch = None
) -> Response:
    """Validate and save as a new version (every bad field is named); workers apply it within seconds."""
    return await _save(history, site, document, who, "", if_match)


@router.post("/sites/{site}/config/validate")
async def validate_config(site: str, document: Document, history: HistoryDep, _: AdminDep) -> Response:
    """Dry run: the problems, or the changes saving it would make. Nothing is saved. A body that is not
    a JSON object is no config document at all: 422, as saving it would answer."""
    result = await history.dry_run(site, document)
    if not isinstance(document, dict):
        _saved(result)
    return json_response(
        {"valid": result.valid, "errors": result.problems, "changes": result.changes, "current_version": result.version}
    )


@router.get("/sites/{site}/config/versions")
async def config_versions(site: str, history: HistoryDep, _: AdminDep) -> Response:
    """Every recorded version, newest first: who, when, note, and what changed."""
    return json_response({"site": site, "versions": await history.versions(site)})


@router.get("/sites/{site}/config/versions/{version}")
async def config_version(site: str, version: int, history: HistoryDep, _: AdminDep) -> Response:
    recorded = await history.version(site, version)
    if recorded is None:
        raise _not_found(site, version)
    return json_response(recorded)


@router.post("/sites/{site}/config/rollback")
async def rollback_config(
    site: str,
    version: Annotated[int, Body(embed=True, ge=1)],
    history: HistoryDep,
    who: AuthorDep,
    _: AdminDep,
    if_match: IfMatch = None,
) -> Response:
    """Make an older version's document the config again, as a new version."""
    recorded = await history.version(site, version)
    if recorded is None:
        raise _not_found(site, version)
    return await _save(history, site, recorded["document"], who, f"rollback to version {version}", if_match)
