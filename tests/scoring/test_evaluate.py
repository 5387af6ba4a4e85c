"""Progressive validation, warm start and their commands, on Phishing and generated sessions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.learning.evaluate_cli import evaluate_command, evaluate_csv, read_labelled_csv, warm_start
from scoring.blend import default_site_scorer
from scoring.evaluate import LabelledCsvError, parse_cell, parse_label
from scoring.model import OnlineLogistic
from scoring.river_adapter import plain_river_scorer

REPORT_KEYS = {
    "roc_auc",
    "log_loss",
    "calibration_error",
    "rows",
    "positives",
    "seconds",
    "learn_us",
    "predict_us",
    "model_bytes",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("  ", {}),
        ("TRUE", {"c": 1.0}),
        ("no", {"c": 0.0}),
        ("Yes", {"c": 1.0}),
        ("2.5", {"c": 2.5}),
        ("-3", {"c": -3.0}),
        ("mobile", {"c=mobile": 1.0}),
        ("nan", {}),
        ("inf", {}),
    ],
)
def test_parse_cell__kinds(text: str, expected: dict[str, float]) -> None:
    assert parse_cell("c", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("FALSE", False), ("1", True), ("0", False), ("0.0", False), ("", None), ("no", False)],
)
def test_parse_label__kinds(text: str, expected: bool | None) -> None:
    assert parse_label(text) is expected


def test_read_labelled_csv__missing_label_column__names_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(LabelledCsvError, match=r"no column 'label'.*a, b"):
        list(read_labelled_csv(path, "label"))


def test_read_labelled_csv__unreadable_label__names_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,label\n1,true\n2,maybe\n")
    with pytest.raises(LabelledCsvError, match="line 3"):
        list(read_labelled_csv(path, "label"))


def test_read_labelled_csv__empty_cells_and_labels__missing_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,device,label\n,mobile,yes\n3,,\n4,desktop,no\n")
    assert list(read_labelled_csv(path, "label")) == [
        ({"device=mobile": 1.0}, True),
        ({"a": 4.0, "device=desktop": 1.0}, False),
    ]


def test_evaluate__phishing__default_ranks_and_calibrates_at_least_as_plain(phishing_csv: Path) -> None:
    default = evaluate_csv(phishing_csv, "is_phishing", OnlineLogistic(), progress=False)
    plain = evaluate_csv(phishing_csv, "is_phishing", plain_river_scorer(), progress=False)
    assert default.rows == plain.rows == 1250
    assert default.positives == plain.positives > 0
    assert default.roc_auc is not None and plain.roc_auc is not None
    assert default.roc_auc >= plain.roc_auc > 0.9
    assert default.calibration_error is not None and plain.calibration_error is not None
    assert default.calibration_error <= plain.calibration_error


def test_evaluate__generated_sessions__default_beats_plain(sessions_csv: Path) -> None:
    default = evaluate_csv(sessions_csv, "accepted", OnlineLogistic(), progress=False)
    plain = evaluate_csv(sessions_csv, "accepted", plain_river_scorer(), progress=False)
    assert default.roc_auc is not None and plain.roc_auc is not None
    assert default.roc_auc >= plain.roc_auc
    assert default.calibration_error is not None and default.calibration_error < 0.05


def test_evaluate__progress__bar_on_stderr_only(sessions_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evaluate_csv(sessions_csv, "accepted", OnlineLogistic(), progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "evaluating" in captured.err


def test_warm_start__blend__weighs_by_the_measured_losses_and_bumps_version_once(sessions_csv: Path) -> None:
    scorer = warm_start(sessions_csv, "accepted", default_site_scorer())
    assert scorer.n_learned == 1500 and scorer.version == 1
    losses = scorer.progressive_losses()
    assert losses["prior"] is not None and losses["model"] is not None and losses["blend"] is not None
    assert losses["blend"] <= min(losses["prior"], losses["model"])


def test_evaluate_command__phishing__prints_one_json_object(phishing_csv: Path) -> None:
    result = CliRunner().invoke(evaluate_command, [str(phishing_csv), "--label", "is_phishing"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) >= REPORT_KEYS and report["model"] == "default"
    assert report["rows"] == 1250 and report["roc_auc"] > 0.9


def test_evaluate_command__unknown_model__usage_error(phishing_csv: Path) -> None:
    arguments = [str(phishing_csv), "--label", "is_phishing", "--model", "nope"]
    result = CliRunner().invoke(evaluate_command, arguments)
    assert result.exit_code == 2 and "nope" in result.output


def test_evaluate_command__wrong_label__clear_error(phishing_csv: Path) -> None:
    result = CliRunner().invoke(evaluate_command, [str(phishing_csv), "--label", "phish"])
    assert result.exit_code == 1 and "no column 'phish'" in result.output
