"""``combine``: a batch's ops folded per field leave a record exactly as applying them one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.merge import MAX_KEYED_FIELDS, Op, apply_all, combine

FIELDS = ("a", "b", "c")
STAMPS = st.integers(1_700_000_000_000, 1_700_000_100_000)


def _op(kind: str) -> st.SearchStrategy[Op]:
    values = {
        "+": st.integers(0, 50).map(str),
        "+k": st.integers(1, 3).map(str),
        "+f": st.floats(0, 1e6, allow_nan=False).map(repr),
        ">": st.integers(0, 10**13).map(str),
        "<": st.integers(0, 10**13).map(str),
        "|": st.integers(0, 2**20).map(str),
        "=": st.tuples(STAMPS, st.sampled_from(["/", "/cart", "x"])).map(lambda p: f"{p[0]}|{p[1]}"),
        "f": st.tuples(STAMPS, st.sampled_from(["/", "/cart", "x"])).map(lambda p: f"{p[0]}|{p[1]}"),
        "pv": st.tuples(STAMPS, st.sampled_from(["a1", "b2", "c3"])).map(lambda p: f"{p[0]}|{p[1]}"),
    }[kind]
    # A field keeps one kind, as the event ops do; '+k' fields are many (its cap is per record).
    fields = (
        st.text("xyz", min_size=1, max_size=2).map(lambda f: f"k.{f}")
        if kind == "+k"
        else st.sampled_from(FIELDS).map(lambda f: f"{kind}{f}")
    )
    return st.builds(Op, st.sampled_from(["s", "v"]), fields, st.just(kind), values)


OPS = st.lists(st.sampled_from(["+", "+k", "+f", ">", "<", "|", "=", "f", "pv"]).flatmap(_op), max_size=40)
START = st.dictionaries(st.sampled_from(["+a", ">a", "<b", "=a", "fa", "|c", "+fa"]), st.just("1"), max_size=4)


def _apply(ops: list[Op], start: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    session, visitor = dict(start), dict(start)
    apply_all(session, visitor, ops)
    return session, visitor


def _floats_close(a: dict[str, str], b: dict[str, str]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key.startswith("+f"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-12)
        else:
            assert a[key] == b[key], key


@settings(max_examples=300, deadline=None)
@given(OPS, START)
def test_combine__folded_ops__same_records_as_one_by_one(ops: list[Op], start: dict[str, str]) -> None:
    one_by_one = _apply(ops, start)
    folded = _apply(combine(ops), start)

    for expected, actual in zip(one_by_one, folded, strict=True):
        _floats_close(expected, actual)


@settings(max_examples=100, deadline=None)
@given(OPS)
def test_combine__one_op_per_field_and_kind__page_views_kept(ops: list[Op]) -> None:
    folded = combine(ops)

    plain = [(op.target, op.field, op.kind) for op in folded if op.kind != "pv"]
    assert len(plain) == len(set(plain))
    assert [op for op in folded if op.kind == "pv"] == [op for op in ops if op.kind == "pv"]


def test_combine__keyed_fields_at_the_cap__the_same_fields_admitted() -> None:
    start = {f"k.{i}": "1" for i in range(MAX_KEYED_FIELDS - 2)}
    ops = [
        Op("s", "k.new1", "+k", "1"),
        Op("s", "k.new2", "+k", "1"),
        Op("s", "k.new3", "+k", "1"),
        Op("s", "k.new1", "+k", "2"),
        Op("s", "k.new3", "+k", "5"),
    ]

    session, _ = _apply(combine(ops), start)

    assert session == _apply(ops, start)[0]
    assert session["k.new1"] == "3" and "k.new3" not in session


def test_combine__ties_keep_the_first_value_like_apply() -> None:
    ops = [
        Op("s", "cp", "=", "5|/a"),
        Op("s", "cp", "=", "5|/b"),
        Op("s", "rf", "f", "5|x"),
        Op("s", "rf", "f", "5|y"),
        Op("s", "sd", ">", "1"),
        Op("s", "sd", ">", "1.0"),
    ]

    assert combine(ops) == [Op("s", "cp", "=", "5|/a"), Op("s", "rf", "f", "5|x"), Op("s", "sd", ">", "1")]


def test_combine__the_same_op_object_twice__counts_twice() -> None:
    click = Op("c", "e.click", "+", "1")  # ops built once and shared, as the per-type counters are

    assert combine([click, click, click]) == [Op("c", "e.click", "+", "3")]


def test_combine__a_page_view_repeated_after_leaving_the_window__counted_as_one_by_one() -> None:
    views = ["100|A", "5000|B", "6000|A", "7000|C", "8000|D", "100|A"]
    ops = [Op("s", "pv", "pv", view) for view in views]

    assert _apply(combine(ops), {}) == _apply(ops, {})
