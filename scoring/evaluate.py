"""Progressive validation and warm start from historical labelled sessions (CSV rows).

Progressive (test-then-train) validation scores each row *before* learning
it, in file order: exactly what would have happened had the model run live on
that history, with no leakage and no train/test split to argue about.

CSV cells become features as follows: empty means missing (the feature is
absent, as in live traffic); ``true/false/yes/no`` (any case) become 1/0;
numbers become floats; any other text is categorical and becomes a one-hot
feature ``column=value``. The label column accepts the same booleans or a
number (non-zero is positive); rows with an empty label are skipped.

Pure: rows come in as lines of text, the clock that times learning and
prediction is passed in. Reading files, the progress bar and the commands are
``api/learning/evaluate_cli.py``.
"""

from __future__ import annotations

import csv
import math
import pickle
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from scoring.base import Features, Scorer
from scoring.measures import calibration_error, log_loss, roc_auc

_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}


class LabelledCsvError(ValueError):
    """The CSV cannot be evaluated as asked (missing label column, unreadable label)."""


def parse_cell(column: str, text: str) -> dict[str, float]:
    """One CSV cell as zero or one feature."""
    text = text.strip()
    if not text:
        return {}
    boolean = _BOOLEANS.get(text.lower())
    if boolean is not None:
        return {column: float(boolean)}
    try:
        value = float(text)
    except ValueError:
        return {f"{column}={text}": 1.0}
    return {column: value} if math.isfinite(value) else {}


def parse_label(text: str) -> bool | None:
    text = text.strip()
    if not text:
        return None
    boolean = _BOOLEANS.get(text.lower())
    if boolean is not None:
        return boolean
    try:
        return float(text) != 0.0
    except ValueError:
        raise LabelledCsvError(f"label {text!r} is not a boolean (true/false/yes/no) or a number") from None


@dataclass
class CsvStats:
    rows: int = 0
    skipped: int = 0


def labelled_rows(
    lines: Iterable[str], label: str, source: str = "the CSV", stats: CsvStats | None = None
) -> Iterator[tuple[Features, bool]]:
    """(features, label) per CSV row of ``lines``, in order; ``stats`` counts rows read and skipped.
    ``source`` names the rows in errors (a file's name)."""
    stats = stats if stats is not None else CsvStats()
    reader = csv.DictReader(lines)
    columns = reader.fieldnames or []
    if label not in columns:
        raise LabelledCsvError(f"no column {label!r} in {source}; columns are: {', '.join(columns)}")
    for line, row in enumerate(reader, start=2):
        try:
            target = parse_label(row[label] or "")
        except LabelledCsvError as error:
            raise LabelledCsvError(f"{source} line {line}, column {label!r}: {error}") from None
        if target is None:
            stats.skipped += 1
            continue
        features: dict[str, float] = {}
        for column, text in row.items():
            if column != label and column is not None and isinstance(text, str):
                features.update(parse_cell(column, text))
        stats.rows += 1
        yield features, target


@dataclass(frozen=True)
class EvaluationReport:
    roc_auc: float | None
    log_loss: float | None
    calibration_error: float | None
    rows: int
    positives: int
    seconds: float
    learn_us: float
    predict_us: float
    model_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def progressive_validation(
    examples: Iterable[tuple[Features, bool]],
    scorer: Scorer,
    clock: Callable[[], float],
    tick: Callable[[], None] | None = None,
) -> EvaluationReport:
    """Predict, then learn, each example in order, timed by ``clock`` (seconds); ``tick`` after each."""
    scores: list[float] = []
    labels: list[bool] = []
    predict_seconds = learn_seconds = 0.0
    started = clock()
    for features, label in examples:
        t0 = clock()
        scores.append(scorer.predict_proba_one(features))
        t1 = clock()
        scorer.learn_one(features, label)
        t2 = clock()
        predict_seconds += t1 - t0
        learn_seconds += t2 - t1
        labels.append(label)
        if tick is not None:
            tick()
    seconds = clock() - started
    n = max(1, len(labels))
    return EvaluationReport(
        roc_auc=roc_auc(scores, labels),
        log_loss=log_loss(scores, labels),
        calibration_error=calibration_error(scores, labels),
        rows=len(labels),
        positives=sum(labels),
        seconds=round(seconds, 4),
        learn_us=round(learn_seconds / n * 1e6, 2),
        predict_us=round(predict_seconds / n * 1e6, 2),
        model_bytes=len(pickle.dumps(scorer)),
    )


S = TypeVar("S", bound=Scorer)


def learn_all(examples: Iterable[tuple[Features, bool]], scorer: S) -> S:
    """Learn every example, in order, into ``scorer`` (one version bump if it batches)."""
    learn_many = getattr(scorer, "learn_many", None)
    if callable(learn_many):
        learn_many((features, target, 1.0) for features, target in examples)
    else:
        for features, target in examples:
            scorer.learn_one(features, target)
    return scorer
