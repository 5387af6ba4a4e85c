from __future__ import annotations

import csv
from pathlib import Path

import pytest
from river import datasets

from loadtests.proving.examples import examples


@pytest.fixture(scope="session")
def phishing_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """river's bundled Phishing data as a CSV, label spelled TRUE/FALSE like a spreadsheet export."""
    path = tmp_path_factory.mktemp("data") / "phishing.csv"
    rows = list(datasets.Phishing())
    columns = list(rows[0][0])
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*columns, "is_phishing"])
        for x, y in rows:
            writer.writerow([*(x[c] for c in columns), "TRUE" if y else "FALSE"])
    return path


@pytest.fixture(scope="session")
def sessions_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Proving-ground sessions folded through the tracker, with a categorical device column and some empty cells."""
    path = tmp_path_factory.mktemp("data") / "sessions.csv"
    rows = examples(1500, seed=21)
    columns = list(rows[0][0])
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*columns, "device", "accepted"])
        for k, (x, y) in enumerate(rows):
            cells = ["" if (k + i) % 17 == 0 else repr(x[c]) for i, c in enumerate(columns)]
            writer.writerow([*cells, ("mobile", "desktop", "")[k % 3], "yes" if y else "no"])
    return path
