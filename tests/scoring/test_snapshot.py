"""Model snapshots: round trip, header-only reads, atomic writes, clear rejections."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from api.learning import snapshot_files
from loadtests.proving.examples import examples
from scoring import model_file
from scoring.blend import BlendedScorer, default_site_scorer


def learned_scorer(n: int = 300) -> BlendedScorer:
    scorer = default_site_scorer()
    scorer.learn_many((x, y, 1.0) for x, y in examples(n, seed=11))
    for x, y in examples(5, seed=12):
        scorer.learn_one(x, y)
    return scorer


def test_snapshot__save_then_load__same_predictions_and_header(tmp_path: Path) -> None:
    scorer = learned_scorer()
    path = tmp_path / "models" / "demo.model"
    written = snapshot_files.save(path, scorer, created_at=1_764_000_000.0)
    loaded = snapshot_files.load(path)
    assert loaded.header == written
    assert (written.version, written.n_learned, written.kind) == (6, 305, "BlendedScorer")
    assert written.created_at == 1_764_000_000.0
    probe = [x for x, _ in examples(50, seed=13)]
    assert [loaded.scorer.predict_proba_one(x) for x in probe] == [scorer.predict_proba_one(x) for x in probe]
    assert written.payload_bytes < 5 * 1024 * 1024


def test_snapshot__read_header__matches_without_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "m.model"
    snapshot_files.save(path, learned_scorer())
    assert snapshot_files.read_header(path) == snapshot_files.load(path).header


def test_snapshot__save_over_existing__replaced_and_no_temporary_left(tmp_path: Path) -> None:
    path = tmp_path / "m.model"
    snapshot_files.save(path, default_site_scorer())
    snapshot_files.save(path, learned_scorer())
    assert snapshot_files.read_header(path).version == 6
    assert sorted(os.listdir(tmp_path)) == ["m.model"]


def test_snapshot__unpicklable_scorer__old_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "m.model"
    snapshot_files.save(path, learned_scorer())
    broken = default_site_scorer()
    broken.model.hook = lambda: None  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="pickle"):
        snapshot_files.save(path, broken)
    assert snapshot_files.read_header(path).version == 6
    assert sorted(os.listdir(tmp_path)) == ["m.model"]


def test_snapshot__not_a_snapshot__rejected_clearly() -> None:
    with pytest.raises(model_file.SnapshotFormatError, match="magic"):
        model_file.loads(b"\x80\x05garbage")


def test_snapshot__unknown_format__rejected_naming_it() -> None:
    data = model_file.dumps(default_site_scorer(), created_at=1_764_000_000.0)
    magic, header, payload = data[: len(model_file.MAGIC)], *data[len(model_file.MAGIC) :].split(b"\n", 1)
    fields = json.loads(header) | {"format": 99}
    with pytest.raises(model_file.SnapshotFormatError, match="format 99"):
        model_file.loads(magic + json.dumps(fields).encode() + b"\n" + payload)


def test_snapshot__truncated_payload__rejected() -> None:
    data = model_file.dumps(learned_scorer(), created_at=1_764_000_000.0)
    with pytest.raises(model_file.SnapshotFormatError, match="truncated"):
        model_file.loads(data[:-10])


def test_snapshot__header_fields_changed__rejected() -> None:
    data = model_file.dumps(default_site_scorer(), created_at=1_764_000_000.0)
    magic, header, payload = data[: len(model_file.MAGIC)], *data[len(model_file.MAGIC) :].split(b"\n", 1)
    fields = json.loads(header) | {"surprise": 1}
    with pytest.raises(model_file.SnapshotFormatError, match="header fields"):
        model_file.loads(magic + json.dumps(fields).encode() + b"\n" + payload)


def test_site_snapshot_path__site_key__inside_data_dir(tmp_path: Path) -> None:
    assert snapshot_files.site_snapshot_path(tmp_path, "demo") == tmp_path / "models" / "demo.model"


@pytest.mark.parametrize("site", ["../etc", "a/b", "", "demo\n", "x" * 65])
def test_site_snapshot_path__unsafe_site__rejected(tmp_path: Path, site: str) -> None:
    with pytest.raises(ValueError, match="site"):
        snapshot_files.site_snapshot_path(tmp_path, site)
