"""Versioned model snapshots: how a learned scorer survives restarts and reaches API workers.

File layout: a magic line, one JSON header line, then the pickled scorer::

    TACTFUL-MODEL
    {"format": 1, "version": 42, "created_at": 1764000000.0, "n_learned": 1234,
     "kind": "BlendedScorer", "payload_bytes": 2417, "sha256": "..."}
    <pickle bytes>

The header can be read without unpickling (``read_header``), so a worker can
poll for a newer ``version`` cheaply. The checksum catches truncated or
corrupted files. ``save`` writes a temporary file in the same directory and
renames it over the target, so a reader sees the old snapshot or the new one,
never half of one. Pickle runs code on load: only load snapshots this
deployment wrote (the data directory is trusted, like the Redis server).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from scoring.base import Scorer
from tracker.protocol import SITE_KEY

MAGIC = b"TACTFUL-MODEL\n"
FORMAT = 1
_MAX_HEADER_BYTES = 4096
_SITE = re.compile(SITE_KEY)


class SnapshotFormatError(ValueError):
    """The bytes are not a snapshot this version of Tactful can read."""


@dataclass(frozen=True)
class SnapshotHeader:
    format: int
    version: int
    created_at: float
    n_learned: int
    kind: str
    payload_bytes: int
    sha256: str


@dataclass(frozen=True)
class ModelSnapshot:
    header: SnapshotHeader
    scorer: Scorer


def dumps(scorer: Scorer, created_at: float | None = None) -> bytes:
    """Header + pickle; ``version`` is the scorer's own (0 for scorers without one)."""
    payload = pickle.dumps(scorer, protocol=pickle.HIGHEST_PROTOCOL)
    header = SnapshotHeader(
        format=FORMAT,
        version=int(getattr(scorer, "version", 0)),
        created_at=time.time() if created_at is None else created_at,
        n_learned=scorer.n_learned,
        kind=type(scorer).__name__,
        payload_bytes=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
    )
    return MAGIC + json.dumps(asdict(header), sort_keys=True).encode() + b"\n" + payload


def _parse_header(stream: BinaryIO) -> SnapshotHeader:
    if stream.read(len(MAGIC)) != MAGIC:
        raise SnapshotFormatError("not a Tactful model snapshot (missing TACTFUL-MODEL magic line)")
    line = stream.readline(_MAX_HEADER_BYTES)
    try:
        fields: dict[str, Any] = json.loads(line)
    except ValueError as error:
        raise SnapshotFormatError(f"unreadable snapshot header: {error}") from None
    if not isinstance(fields, dict):
        raise SnapshotFormatError("snapshot header is not a JSON object")
    if fields.get("format") != FORMAT:
        raise SnapshotFormatError(
            f"unknown snapshot format {fields.get('format')!r}; this version reads format {FORMAT}"
        )
    try:
        return SnapshotHeader(**fields)
    except TypeError as error:
        raise SnapshotFormatError(f"snapshot header fields do not match format {FORMAT}: {error}") from None


def loads(data: bytes) -> ModelSnapshot:
    stream = io.BytesIO(data)
    header = _parse_header(stream)
    payload = stream.read()
    if len(payload) != header.payload_bytes or hashlib.sha256(payload).hexdigest() != header.sha256:
        raise SnapshotFormatError(
            f"snapshot payload is corrupt or truncated ({len(payload)} of {header.payload_bytes} bytes)"
        )
    scorer = pickle.loads(payload)
    return ModelSnapshot(header, scorer)


def save(path: Path, scorer: Scorer, created_at: float | None = None) -> SnapshotHeader:
    """Write atomically: temporary file in the same directory, fsync, rename over ``path``."""
    data = dumps(scorer, created_at)
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
    return _parse_header(io.BytesIO(data))


def load(path: Path) -> ModelSnapshot:
    return loads(path.read_bytes())


def read_header(path: Path) -> SnapshotHeader:
    """The header alone: cheap enough to poll for a newer version."""
    with path.open("rb") as file:
        return _parse_header(file)


def site_snapshot_path(data_dir: Path, site: str) -> Path:
    """Where a site's model lives in the data directory; refuses site keys that could escape it."""
    if not _SITE.fullmatch(site):
        raise ValueError(f"site must be 1-64 of [A-Za-z0-9_-], got {site!r}")
    return data_dir / "models" / f"{site}.model"
