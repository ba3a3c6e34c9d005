"""Moved to :mod:`vietser.run.train`, :mod:`vietser.run.evaluate`, :mod:`vietser.run.systems` and
:mod:`vietser.pipeline`; these names stay here for modules that still import them."""

from __future__ import annotations

from vietser.pipeline import with_priors
from vietser.run.systems import ACOUSTIC_ONLY, PIPELINE, system_summary

__all__ = ["ACOUSTIC_ONLY", "PIPELINE", "system_summary", "with_priors"]
