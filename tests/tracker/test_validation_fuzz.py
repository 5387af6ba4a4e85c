"""Arbitrary bytes and JSON at the validator: a ``ProtocolError`` with a 4xx, or a valid batch; nothing else."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import DESIGN_EXAMPLE, PROTOCOL_EXAMPLE
from tracker.protocol import EVENT_TYPES, Batch
from tracker.validation import ProtocolError, parse_batch

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def _dumps(value: Any) -> bytes:
    """The stdlib encoder: it writes integers of any size, as a hostile client could (infinities it writes
    as the non-JSON ``Infinity``, which is malformed JSON and tested with the arbitrary bytes)."""
    return json.dumps(value).encode()


def _outcome(body: bytes) -> Batch | ProtocolError:
    try:
        return parse_batch(body)
    except ProtocolError as error:
        return error


def _assert_well_formed(outcome: Batch | ProtocolError) -> None:
    if isinstance(outcome, ProtocolError):
        assert 400 <= outcome.status < 500
        assert outcome.code and outcome.message
        assert outcome.field is None or isinstance(outcome.field, str)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_parse__arbitrary_bytes__4xx_or_batch(raw: bytes) -> None:
    _assert_well_formed(_outcome(raw))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_parse__arbitrary_json__4xx_or_batch(value: Any) -> None:
    _assert_well_formed(_outcome(_dumps(value)))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["v", "site", "visitor", "session", "sent_at", "events"]), json_values)
def test_parse__one_envelope_field_replaced__error_names_that_field(name: str, value: Any) -> None:
    body = copy.deepcopy(DESIGN_EXAMPLE)
    body[name] = value
    outcome = _outcome(_dumps(body))
    _assert_well_formed(outcome)
    if isinstance(outcome, ProtocolError) and outcome.code != "timestamp_out_of_range":
        assert outcome.field is not None and outcome.field.split("[")[0].split(".")[0] == name


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(PROTOCOL_EXAMPLE["events"]) - 1), st.text(min_size=1, max_size=8), json_values)
def test_parse__one_event_field_replaced__error_points_into_that_event(index: int, key: str, value: Any) -> None:
    body = copy.deepcopy(PROTOCOL_EXAMPLE)
    body["events"][index][key] = value
    outcome = _outcome(_dumps(body))
    _assert_well_formed(outcome)
    if isinstance(outcome, ProtocolError):
        assert outcome.field is not None and outcome.field.startswith(f"events[{index}]")


@given(st.sampled_from(EVENT_TYPES))
def test_event_types__every_type_in_the_protocol_example(kind: str) -> None:
    assert kind in {event["t"] for event in PROTOCOL_EXAMPLE["events"]}
