"""Choices that configure the acoustic model stage."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ModelKind(str, Enum):
    """Which scikit-learn classifier sits at the end of the pipeline."""

    SVM_RBF = "svm-rbf"
    SVM_LINEAR = "svm-linear"
    LOGREG = "logreg"
    HGB = "hgb"
    MLP = "mlp"


class FeatureSet(str, Enum):
    """Which feature family the model reads."""

    EGEMAPS = "egemaps"
    PROSODY = "prosody"
    BOTH = "both"


class Normalisation(str, Enum):
    """How features are put on a common scale before the classifier.

    ``speaker`` reads the ``z.`` columns (each value against its speaker's own
    clips) — the right choice for a tonal language, where raw pitch movement is
    partly lexical tone. ``corpus`` reads the raw columns; the pipeline's
    StandardScaler (fitted on the train split) is then the only normalisation.
    """

    SPEAKER = "speaker"
    CORPUS = "corpus"


class CalibrationMethod(str, Enum):
    """How classifier scores become probabilities.

    All methods except ``none`` are fitted on out-of-fold predictions from
    speaker-grouped folds of the train split, so they correct the
    overconfidence a model shows on speakers it has never heard.
    """

    TEMPERATURE = "temperature"
    SIGMOID = "sigmoid"
    ISOTONIC = "isotonic"
    NONE = "none"


MARGIN_KINDS: frozenset[ModelKind] = frozenset({ModelKind.SVM_RBF, ModelKind.SVM_LINEAR})
"""Kinds that give decision scores but no probabilities of their own."""


class AcousticConfig(BaseModel):
    """Configuration of :func:`vietser.acoustic.train_acoustic`.

    Example:
        >>> AcousticConfig(model="svm-linear", feature_set="egemaps").normalisation
        <Normalisation.SPEAKER: 'speaker'>
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelKind = ModelKind.LOGREG
    feature_set: FeatureSet = FeatureSet.BOTH
    normalisation: Normalisation = Normalisation.SPEAKER
    calibration: CalibrationMethod = CalibrationMethod.TEMPERATURE
    cv_folds: int = Field(default=5, ge=2, description="speaker-grouped folds for tuning and calibration")
    seed: int = 0
    measure_calibration: bool = Field(
        default=True,
        description="report ECE/Brier before and after calibration out-of-fold; costs cv_folds × (cv_folds + 1) fits",
    )

    @model_validator(mode="after")
    def _margin_models_need_calibration(self) -> AcousticConfig:
        if self.model in MARGIN_KINDS and self.calibration is CalibrationMethod.NONE:
            raise ValueError(
                f"model {self.model.value!r} gives decision scores, not probabilities: "
                "choose calibration 'temperature', 'sigmoid' or 'isotonic'"
            )
        return self
