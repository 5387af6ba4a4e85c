"""Versioned model snapshots: how a learned scorer survives restarts and reaches API workers.

File layout: a magic line, one JSON header line, then the pickled scorer::

    TACTFUL-MODEL
    {"format": 1, "version": 42, "created_at": 1764000000.0, "n_learned": 1234,
     "kind": "BlendedScorer", "payload_bytes": 2417, "sha256": "..."}
    <pickle bytes>

The header can be read without unpickling (``parse_header``), so a worker can
poll for a newer ``version`` cheaply. The checksum catches truncated or
corrupted files. Pickle runs code on load: only load snapshots this
deployment wrote (the data directory is trusted, like the Redis server).
Pure: bytes in and out, the time of creation passed in. Snapshot files (written
atomically, under the data directory) are ``api/learning/snapshot_files.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

from scoring.base import Scorer

MAGIC = b"TACTFUL-MODEL\n"
FORMAT = 1
_MAX_HEADER_BYTES = 4096


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


def dumps(scorer: Scorer, created_at: float) -> bytes:
    """Header + pickle; ``version`` is the scorer's own (0 for scorers without one); ``created_at`` in
    seconds since the epoch."""
    payload = pickle.dumps(scorer, protocol=pickle.HIGHEST_PROTOCOL)
    header = SnapshotHeader(
        format=FORMAT,
        version=int(getattr(scorer, "version", 0)),
        created_at=created_at,
        n_learned=scorer.n_learned,
        kind=type(scorer).__name__,
        payload_bytes=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
    )
    return MAGIC + json.dumps(asdict(header), sort_keys=True).encode() + b"\n" + payload


def parse_header(stream: BinaryIO) -> SnapshotHeader:
    """The header at the start of ``stream``, read without the payload."""
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
    header = parse_header(stream)
    payload = stream.read()
    if len(payload) != header.payload_bytes or hashlib.sha256(payload).hexdigest() != header.sha256:
        raise SnapshotFormatError(
            f"snapshot payload is corrupt or truncated ({len(payload)} of {header.payload_bytes} bytes)"
        )
    scorer = pickle.loads(payload)
    return ModelSnapshot(header, scorer)
