"""Online scoring: how likely an invitation shown now would be accepted.

The API calls ``default_site_scorer`` (or loads a snapshot), scores with
``predict_proba_one`` / ``explain``, records decisions and feeds outcomes
through a ``LabelJoiner``, and reports ``RollingQuality``. See docs/scoring.md.
"""

from scoring.base import Features, Scorer
from scoring.blend import BlendedScorer, default_site_scorer
from scoring.labels import LabelJoiner, LabelPolicy, Outcome, TrainingExample
from scoring.model import OnlineLogistic
from scoring.model_file import ModelSnapshot, SnapshotFormatError, SnapshotHeader
from scoring.prior import StrugglePrior
from scoring.quality import RollingQuality
from scoring.snapshot_store import DecisionSnapshot, MemorySnapshotStore, SnapshotStore

__all__ = [
    "BlendedScorer",
    "DecisionSnapshot",
    "Features",
    "LabelJoiner",
    "LabelPolicy",
    "MemorySnapshotStore",
    "ModelSnapshot",
    "OnlineLogistic",
    "Outcome",
    "RollingQuality",
    "Scorer",
    "SnapshotFormatError",
    "SnapshotHeader",
    "SnapshotStore",
    "StrugglePrior",
    "TrainingExample",
    "default_site_scorer",
]
