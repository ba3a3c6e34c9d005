"""Whole calls instead of clips: segmentation (VAD), per-segment decisions, a timeline per call.

Importing this package is cheap: the predictor, FastAPI and plotting load
only in the modules that need them.
"""

from vietser.calls.segment import Segment, SegmentationConfig, Segmenter
from vietser.calls.vad import VadBackend

__all__ = ["Segment", "SegmentationConfig", "Segmenter", "VadBackend"]
