"""The server side of tracking: wire protocol, validation, state folding and behaviour features."""

from tracker.features import FEATURES, STRUGGLE_SIGNALS, VisitorFacts, describe, extract
from tracker.protocol import MAX_BODY_BYTES, MAX_EVENTS, Batch, Event

__all__ = [
    "FEATURES",
    "MAX_BODY_BYTES",
    "MAX_EVENTS",
    "STRUGGLE_SIGNALS",
    "Batch",
    "Event",
    "VisitorFacts",
    "describe",
    "extract",
]
