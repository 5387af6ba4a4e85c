"""Model snapshots as files: written atomically, read whole or by their header alone.

The format is ``scoring.model_file``'s. ``save`` writes a temporary file in the same
directory and renames it over the target, so a reader sees the old snapshot or the
new one, never half of one.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import time
from pathlib import Path

from scoring.base import Scorer
from scoring.model_file import ModelSnapshot, SnapshotHeader, dumps, loads, parse_header
from tracker.protocol import SITE_KEY

_SITE = re.compile(SITE_KEY)


def save(path: Path, scorer: Scorer, created_at: float | None = None) -> SnapshotHeader:
    """Write atomically: temporary file in the same directory, fsync, rename over ``path``."""
    data = dumps(scorer, time.time() if created_at is None else created_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return parse_header(io.BytesIO(data))


def load(path: Path) -> ModelSnapshot:
    return loads(path.read_bytes())


def read_header(path: Path) -> SnapshotHeader:
    """The header alone: cheap enough to poll for a newer version."""
    with path.open("rb") as file:
        return parse_header(file)


def site_snapshot_path(data_dir: Path, site: str) -> Path:
    """Where a site's model lives in the data directory; refuses site keys that could escape it."""
    if not _SITE.fullmatch(site):
        raise ValueError(f"site must be 1-64 of [A-Za-z0-9_-], got {site!r}")
    return data_dir / "models" / f"{site}.model"
