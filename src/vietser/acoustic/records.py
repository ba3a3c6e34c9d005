"""What a saved model's sidecar records of its training: the search, the calibration, the library versions.

Plain pydantic records, so that loading a model to decide new audio imports no scikit-learn.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vietser.acoustic.config import CalibrationMethod
from vietser.features.cache import FEATURE_VERSION


class CandidateScore(BaseModel):
    """Cross-validated macro-F1 of one hyperparameter setting."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any]
    macro_f1_mean: float
    macro_f1_std: float


class CVResult(BaseModel):
    """Outcome of the speaker-grouped hyperparameter search on the train split."""

    model_config = ConfigDict(extra="forbid")

    n_splits: int
    fold_speakers: list[list[str]]
    best_params: dict[str, Any]
    macro_f1_mean: float
    macro_f1_std: float
    candidates: list[CandidateScore]
    baseline_free: CVResult | None = Field(
        default=None, description="the search of the model for clips without a speaker baseline, if it has one"
    )


class CalibrationReport(BaseModel):
    """Top-label ECE and multiclass Brier score before and after calibration, on out-of-fold data."""

    model_config = ConfigDict(extra="forbid")

    method: CalibrationMethod
    evaluated_on: str = "out-of-fold predictions on the train split (speaker-grouped folds)"
    n_clips: int
    n_bins: int
    ece_before: float
    ece_after: float
    brier_before: float
    brier_after: float


# The key of :data:`~vietser.features.cache.FEATURE_VERSION` among a model's versions.
FEATURES_VERSION_KEY = "features"


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on, and of the features it was trained on."""
    libraries = {name: version(name) for name in ("vietser", "scikit-learn", "numpy", "skops")}
    return {**libraries, FEATURES_VERSION_KEY: str(FEATURE_VERSION)}
