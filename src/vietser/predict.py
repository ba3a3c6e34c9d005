"""Moved to :mod:`vietser.run.predict`; these names stay here for modules that still import them."""

from __future__ import annotations

from vietser.run.predict import PredictResult, Predictor, list_audio, load_predictor, speaker_of

__all__ = ["PredictResult", "Predictor", "list_audio", "load_predictor", "speaker_of"]
