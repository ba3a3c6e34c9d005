"""Acoustic models over the features table: train, calibrate, predict, save, load."""

from __future__ import annotations

from vietser.acoustic.calibration import CalibrationReport
from vietser.acoustic.calibration import brier_score
from vietser.acoustic.calibration import expected_calibration_error
from vietser.acoustic.config import AcousticConfig
from vietser.acoustic.config import CalibrationMethod
from vietser.acoustic.config import FeatureSet
from vietser.acoustic.config import ModelKind
from vietser.acoustic.config import Normalisation
from vietser.acoustic.models import feature_columns
from vietser.acoustic.persist import load_model
from vietser.acoustic.persist import save_model
from vietser.acoustic.train import CVResult
from vietser.acoustic.train import TrainedModel
from vietser.acoustic.train import predict_proba
from vietser.acoustic.train import speaker_folds
from vietser.acoustic.train import train_acoustic

__all__ = [
    "AcousticConfig",
    "CVResult",
    "CalibrationMethod",
    "CalibrationReport",
    "FeatureSet",
    "ModelKind",
    "Normalisation",
    "TrainedModel",
    "brier_score",
    "expected_calibration_error",
    "feature_columns",
    "load_model",
    "predict_proba",
    "save_model",
    "speaker_folds",
    "train_acoustic",
]
