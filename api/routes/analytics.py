"""Admin analytics: the report for a site and window as JSON or CSV, and the what-if replay."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response

from api.analytics.report import Analytics
from api.auth import AdminDep
from api.deps import EngineDep, StoreDep
from api.responses import json_response
from tracker.days import DAY_MS
from triggers import SiteConfig
from triggers.config_edit import check
from triggers.context import to_millis

router = APIRouter(prefix="/v1/admin/sites/{site}", tags=["analytics"])

MAX_WINDOW_MS = 8 * DAY_MS
Moment = Annotated[str | None, Query(description="epoch milliseconds or ISO 8601 with an offset")]


async def get_analytics(engine: EngineDep, store: StoreDep) -> Analytics:
    return Analytics(store, engine.sites, engine.decider.models, engine.decider.availability, engine.now_ms)


AnalyticsDep = Annotated[Analytics, Depends(get_analytics)]


def _moment(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value) if value.lstrip("-").isdigit() else int(to_millis(value))
    except ValueError:
        raise HTTPException(
            400,
            {
                "error": "invalid_value",
                "field": name,
                "message": f"{name} is epoch milliseconds or ISO 8601 with an offset",
            },
        ) from None


async def window(analytics: AnalyticsDep, start: Moment = None, end: Moment = None) -> tuple[int, int]:
    """Default: the 24 hours up to now."""
    end_ms = _moment(end, "end") or analytics.now_ms()
    start_ms = _moment(start, "start") or end_ms - DAY_MS
    if start_ms >= end_ms:
        raise HTTPException(400, {"error": "invalid_value", "field": "start", "message": "start must be before end"})
    if end_ms - start_ms > MAX_WINDOW_MS:
        raise HTTPException(
            400,
            {
                "error": "invalid_value",
                "field": "start",
                "message": "a window is at most 8 days (the event log keeps 7)",
            },
        )
    return start_ms, end_ms


WindowDep = Annotated[tuple[int, int], Depends(window)]


async def site_config(site: str, engine: EngineDep) -> SiteConfig:
    config = engine.sites.get(site)
    if config is None:
        raise HTTPException(404, {"error": "unknown_site", "field": "site", "message": f"no site {site!r}"})
    return config


ConfigDep = Annotated[SiteConfig, Depends(site_config)]


@router.get("/analytics")
async def analytics_report(
    site: str, config: ConfigDep, analytics: AnalyticsDep, span: WindowDep, _: AdminDep
) -> Response:
    """Funnel, uplift, reasons, scores and threshold projection, agent load, outcomes, hot spots, model."""
    return json_response(await analytics.report(site, config, *span))


def _cell(value: Any) -> Any:
    """Paths and names come from visitors: never let a spreadsheet read one as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _rows(report: dict[str, Any], section: str) -> list[dict[str, Any]]:
    uplift = report["uplift"]
    sections: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "funnel": lambda: [{"stage": k, "value": v} for k, v in report["funnel"].items()],
        "invitations": lambda: (
            [{"measure": k, "value": v} for k, v in report["invitations"].items() if not isinstance(v, dict)]
            + [{"measure": f"mode.{k}", "value": v} for k, v in report["invitations"]["by_mode"].items()]
        ),
        "uplift": lambda: (
            [{"arm": arm, **uplift[arm]} for arm in ("invited", "holdout")]
            + [
                {
                    "arm": "difference",
                    "rate": uplift["difference"],
                    "ci95_low": (uplift["ci95"] or [None, None])[0],
                    "ci95_high": (uplift["ci95"] or [None, None])[1],
                }
            ]
        ),
        "reasons": lambda: [{"reason": k, "decisions": v} for k, v in report["reasons"]["decisions_by_reason"].items()],
        "sessions_by_reason": lambda: [
            {"reason": k, "sessions": v} for k, v in report["reasons"]["sessions_not_invited_by_reason"].items()
        ],
        "histogram": lambda: report["scores"]["histogram"],
        "projection": lambda: report["scores"]["projection"],
        "agent_load": lambda: report["agent_load"]["series"],
        "pages": lambda: report["outcomes"]["by_page"],
        "variants": lambda: report["outcomes"]["by_variant"],
        "hotspots": lambda: report["hotspots"],
    }
    if section not in sections:
        raise HTTPException(
            404, {"error": "unknown_section", "field": "section", "message": f"CSV sections: {', '.join(sections)}"}
        )
    return sections[section]()


@router.get("/analytics/{section}.csv")
async def analytics_csv(
    site: str, section: str, config: ConfigDep, analytics: AnalyticsDep, span: WindowDep, _: AdminDep
) -> Response:
    """One section of the report as CSV (funnel, uplift, reasons, pages, hotspots...)."""
    rows = _rows(await analytics.report(site, config, *span), section)
    out = io.StringIO()
    columns = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{site}-{section}-{span[0]}-{span[1]}.csv"'},
    )


@router.post("/what-if")
async def what_if(
    site: str,
    config: ConfigDep,
    analytics: AnalyticsDep,
    span: WindowDep,
    _: AdminDep,
    document: Annotated[Any, Body(embed=True, alias="config")],
    agents: Annotated[int | None, Body(embed=True, ge=0, le=1000)] = None,
) -> Response:
    """Replay the window's traffic under an edited config (not saved) next to the config in force."""
    checked = check(document, site)
    if checked.config is None:
        first = checked.problems[0]
        raise HTTPException(
            422,
            {
                "error": "invalid_config",
                "field": first["field"],
                "message": first["message"],
                "errors": checked.problems,
            },
        )
    return json_response(await analytics.what_if(site, checked.config, config, *span, agents))
