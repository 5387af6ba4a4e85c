"""``tactful warm-start``: a site's model trained on history is the model the engine then serves."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from api import create_app
from api.cli import main
from tests.api.conftest import settings

TOKEN = "warm-start-admin-token-0123"


def _history(path: Path, rows: int = 400) -> Path:
    rng = random.Random(3)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["form_errors", "rage_clicks", "time_on_site_s", "accepted"])
        for _ in range(rows):
            errors, rage = rng.randint(0, 4), rng.randint(0, 3)
            accepted = rng.random() < 0.1 + 0.15 * errors + 0.1 * rage
            writer.writerow([errors, rage, rng.randint(5, 600), "TRUE" if accepted else "FALSE"])
    return path


def test_warm_start__history__committed_and_served_by_the_engine(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["warm-start", str(_history(tmp_path / "h.csv")), "--label", "accepted", "--site", "demo"],
        env={"TACTFUL_DATA_DIR": str(tmp_path)},
    )

    assert result.exit_code == 0, result.output
    assert '"n_learned":400' in result.output
    with TestClient(create_app(settings(data_dir=tmp_path, admin_token=TOKEN))) as client:
        model = client.get("/v1/admin/sites/demo/model", headers={"authorization": f"Bearer {TOKEN}"}).json()
    assert model["serving_version"] >= 1
    assert model["committed"]["quality"]["n_learned"] == 400


def test_warm_start__unsafe_site_key__refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["warm-start", str(_history(tmp_path / "h.csv", 10)), "--label", "accepted", "--site", "../x"],
        env={"TACTFUL_DATA_DIR": str(tmp_path)},
    )

    assert result.exit_code == 2 and "site key" in result.output
