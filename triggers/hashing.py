"""Deterministic stand-ins for randomness: buckets and ids from a hash of ids.

A visitor must stay in their experiment group across requests, workers and
restarts, and a replay must reproduce the live decisions exactly, so nothing in
the policy draws random numbers: a uniform number is read off a SHA-256 of the
ids that identify the draw (the flagsmith-engine way of doing percentage rollouts).
"""

from __future__ import annotations

import base64
import hashlib

_SCALE = float(1 << 64)


def unit_hash(*parts: str) -> float:
    """A number in [0, 1) that depends only on ``parts``, uniform over distinct inputs."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def invite_id(site: str, visitor: str, session: str, now_ms: int) -> str:
    """``i_`` plus 22 URL-safe characters: matches the wire ``Id`` pattern and replays identically."""
    digest = hashlib.sha256(f"invite\x1f{site}\x1f{visitor}\x1f{session}\x1f{now_ms}".encode()).digest()
    return "i_" + base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
