"""Acoustic models over the features table: train, calibrate, predict, save, load."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vietser.exports import lazy_exports

if TYPE_CHECKING:
    from vietser.acoustic.records import CalibrationReport
    from vietser.acoustic.calibration import brier_score
    from vietser.acoustic.calibration import expected_calibration_error
    from vietser.acoustic.config import AcousticConfig
    from vietser.acoustic.config import CalibrationMethod
    from vietser.acoustic.config import FeatureView
    from vietser.acoustic.config import ModelKind
    from vietser.acoustic.config import Normalisation
    from vietser.acoustic.models import feature_columns
    from vietser.acoustic.persist import load_model
    from vietser.acoustic.persist import save_model
    from vietser.acoustic.train import AcousticModel
    from vietser.acoustic.records import CVResult
    from vietser.acoustic.inference import predict_proba
    from vietser.acoustic.search import speaker_folds

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "CalibrationReport": "vietser.acoustic.records",
        "brier_score": "vietser.acoustic.calibration",
        "expected_calibration_error": "vietser.acoustic.calibration",
        "AcousticConfig": "vietser.acoustic.config",
        "CalibrationMethod": "vietser.acoustic.config",
        "FeatureView": "vietser.acoustic.config",
        "ModelKind": "vietser.acoustic.config",
        "Normalisation": "vietser.acoustic.config",
        "feature_columns": "vietser.acoustic.models",
        "load_model": "vietser.acoustic.persist",
        "save_model": "vietser.acoustic.persist",
        "AcousticModel": "vietser.acoustic.train",
        "CVResult": "vietser.acoustic.records",
        "predict_proba": "vietser.acoustic.inference",
        "speaker_folds": "vietser.acoustic.search",
    },
)
