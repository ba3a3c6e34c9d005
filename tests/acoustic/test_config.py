from __future__ import annotations

import pytest
from pydantic import ValidationError

from vietser.acoustic import AcousticConfig, CalibrationMethod, ModelKind


def test_svm_without_calibration_is_refused() -> None:
    with pytest.raises(ValidationError, match="decision scores"):
        AcousticConfig(model="svm-linear", calibration="none")


def test_probabilistic_model_may_skip_calibration() -> None:
    config = AcousticConfig(model="logreg", calibration="none")

    assert (config.model, config.calibration) == (ModelKind.LOGREG, CalibrationMethod.NONE)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ValidationError):
        AcousticConfig(model="random-forest")
