"""Turning a request body into a ``Batch``, or into an error that names the problem.

Every way a body can be wrong maps to one ``ProtocolError`` with an HTTP status,
a stable machine-readable ``code``, the offending ``field`` as a dotted path
(``events[3].ts``) and a human sentence. Nothing here raises anything else, for
any input: the hypothesis tests throw arbitrary bytes and JSON at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from tracker.days import DAY_MS
from tracker.protocol import EMAIL_PATTERN, MAX_BODY_BYTES, PERSON_NAME_PATTERN, Batch

MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
"""An event stamped later than ``sent_at`` by more than this is not a clock quirk."""
MAX_EVENT_AGE_MS = DAY_MS
"""Events older than a day before ``sent_at`` are refused: a stale queue, not a visit."""

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `(?P<name>[^`]+)`")

_decoder = msgspec.json.Decoder(Batch)

_PATTERNS_IN_WORDS = {
    f"matching regex {EMAIL_PATTERN!r}": "an email address such as name@example.com (no spaces, quotes or brackets)",
    f"matching regex {PERSON_NAME_PATTERN!r}": "printable text without leading or trailing spaces",
}
"""Patterns too long to read in an error message, said in words."""


@dataclass(frozen=True)
class ProtocolError(Exception):
    status: int
    code: str
    field: str | None
    message: str

    def body(self) -> dict[str, object]:
        return {"error": self.code, "field": self.field, "message": self.message}


def _field_path(path: str, message: str) -> str | None:
    """``$.events[0]`` + "unknown field `zz`" -> ``events[0].zz``."""
    path = path.lstrip(".")
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named['name']}" if path else named["name"]
    return path or None


def _validation_error(error: msgspec.ValidationError) -> ProtocolError:
    match = _AT.match(str(error))
    assert match is not None  # the pattern matches every string
    message, path = match["message"], match["path"] or ""
    field = _field_path(path, message)
    if "unknown field" in message:
        code = "unknown_field"
    elif field is not None and field.endswith(".t") and message.startswith("Invalid value"):
        code = "unknown_event_type"
        message = f"{message}; known types are listed in docs/protocol.md"
    elif "missing required field" in message:
        code = "missing_field"
    else:
        code = "invalid_value"
        for pattern, words in _PATTERNS_IN_WORDS.items():
            message = message.replace(f"`str` {pattern}", words)
    return ProtocolError(400, code, field, message)


def parse_batch(body: bytes) -> Batch:
    """Decode and validate one collect body; raise ``ProtocolError`` on anything wrong."""
    if len(body) > MAX_BODY_BYTES:
        raise ProtocolError(413, "body_too_large", None, f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    if not body.strip():
        raise ProtocolError(400, "empty_body", None, "the body is empty; expected a JSON object")
    try:
        batch = _decoder.decode(body)
    except msgspec.ValidationError as error:
        raise _validation_error(error) from None
    except msgspec.DecodeError as error:
        raise ProtocolError(400, "malformed_json", None, str(error)) from None
    check_timestamps(batch)
    return batch


def check_timestamps(batch: Batch) -> None:
    for index, event in enumerate(batch.events):
        if event.ts > batch.sent_at + MAX_FUTURE_SKEW_MS:
            raise ProtocolError(
                400,
                "timestamp_out_of_range",
                f"events[{index}].ts",
                f"event time is {event.ts - batch.sent_at} ms after sent_at; at most {MAX_FUTURE_SKEW_MS} allowed",
            )
        if event.ts < batch.sent_at - MAX_EVENT_AGE_MS:
            raise ProtocolError(
                400,
                "timestamp_out_of_range",
                f"events[{index}].ts",
                f"event time is {batch.sent_at - event.ts} ms before sent_at; at most {MAX_EVENT_AGE_MS} allowed",
            )
