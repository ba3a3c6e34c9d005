"""Choices that configure the acoustic model stage."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vietser.data.channel import ChannelName

if TYPE_CHECKING:
    from vietser.features.catalog import FeatureSetName


class ModelKind(str, Enum):
    """Which scikit-learn classifier sits at the end of the pipeline."""

    SVM_RBF = "svm-rbf"
    SVM_LINEAR = "svm-linear"
    LOGREG = "logreg"
    HGB = "hgb"
    MLP = "mlp"


class FeatureView(str, Enum):
    """The columns one acoustic model reads, named by the extracted feature sets they come from
    (:data:`VIEW_SETS`): one set, or ``both`` = eGeMAPS + prosody. emobase and ComParE are the wide
    openSMILE sets, see :mod:`vietser.features.smile`. ``voice`` is eGeMAPS + prosody limited to pitch,
    voice quality and formants (:data:`vietser.features.catalog.VOICE_GROUPS`), whose absolute values
    neither the recording chain nor the language and text move as they move loudness, spectral shape
    and tempo: what the model for clips without a speaker baseline reads. An extracted set itself is a
    :data:`vietser.features.catalog.FeatureSetName`."""

    EGEMAPS = "egemaps"
    PROSODY = "prosody"
    BOTH = "both"
    VOICE = "voice"
    EMOBASE = "emobase"
    COMPARE = "compare"


# The extracted feature sets each view reads.
VIEW_SETS: dict[FeatureView, tuple[FeatureSetName, ...]] = {
    FeatureView.EGEMAPS: ("egemaps",),
    FeatureView.PROSODY: ("prosody",),
    FeatureView.BOTH: ("egemaps", "prosody"),
    FeatureView.VOICE: ("egemaps", "prosody"),
    FeatureView.EMOBASE: ("emobase",),
    FeatureView.COMPARE: ("compare",),
}


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
    """Configuration of :class:`vietser.acoustic.AcousticModel`.

    Example:
        >>> AcousticConfig(model="svm-linear", feature_set="egemaps").normalisation
        <Normalisation.SPEAKER: 'speaker'>
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelKind = ModelKind.LOGREG
    feature_set: FeatureView = FeatureView.BOTH
    late_fusion: tuple[FeatureView, ...] = Field(
        default=(FeatureView.EMOBASE,),
        description="further feature sets, each read by its own model of the same kind, tuned on its own columns; "
        "the class probabilities of all views are averaged before calibration. Empty: one model on feature_set. "
        "On RAVDESS (6 folds) eGeMAPS+prosody fused with emobase lifts macro-F1 by about 0.01-0.02",
    )
    normalisation: Normalisation = Normalisation.SPEAKER
    calm_shares: tuple[float, ...] = Field(
        default=(),
        description="with speaker normalisation, also train on copies of each training speaker read against "
        "subsets of their clips with these calm shares, e.g. [1.0, 0.8, 0.6, 0.25], so that a speaker's "
        "baseline means the same whether they are calm in every clip or in few. Off by default: it calls 94 % of "
        "calm-only RAVDESS speakers' clips calm (EmoDB 92 %; the default, which reads a speaker whose clips "
        "hardly vary by the companion and as one speaker, 99 % / 94 %) and drops RAVDESS -> EmoDB macro-F1 "
        "from 0.65 to 0.44 (benchmarks/domain.py)",
    )
    companion_channels: tuple[ChannelName, ...] = Field(
        default=("level",),
        description="the companion, the model that reads clips without a baseline of their speaker, also trains "
        "on the training clips' copies through these channels (vietser.data.channel); the speaker-normalised "
        "model leaves them out. A clip's level tells of the microphone, not the speaker: RAVDESS held-out actors "
        "read one clip at a time at a random gain of -20...+6 dB drop from 0.808 to 0.721 macro-F1 without level "
        "copies and keep 0.822 / 0.824 with them (benchmarks/domain.py data, 6 folds)",
    )
    calibration: CalibrationMethod = CalibrationMethod.TEMPERATURE
    cv_folds: int = Field(default=5, ge=2, description="speaker-grouped folds for tuning and calibration")
    seed: int = 0
    measure_calibration: bool = Field(
        default=True,
        description="report ECE/Brier before and after calibration out-of-fold; costs cv_folds × (cv_folds + 1) fits",
    )

    @property
    def views(self) -> tuple[FeatureView, ...]:
        """The feature set of every model: ``feature_set`` first, then ``late_fusion``."""
        return (self.feature_set, *self.late_fusion)

    @property
    def extracted_sets(self) -> tuple[FeatureSetName, ...]:
        """The extracted feature sets the views read."""
        return tuple(dict.fromkeys(name for view in self.views for name in VIEW_SETS[view]))

    @model_validator(mode="after")
    def _shares_are_shares(self) -> AcousticConfig:
        if any(not 0.0 < share <= 1.0 for share in self.calm_shares):
            raise ValueError(f"calm_shares {list(self.calm_shares)}: each share must be above 0 and at most 1")
        return self

    @model_validator(mode="after")
    def _views_are_distinct(self) -> AcousticConfig:
        if len(set(self.views)) != len(self.views):
            raise ValueError(
                f"late_fusion {[v.value for v in self.late_fusion]} repeats a feature set (or feature_set "
                f"{self.feature_set.value!r}); list each set once"
            )
        return self

    @model_validator(mode="after")
    def _margin_models_need_calibration(self) -> AcousticConfig:
        if self.model in MARGIN_KINDS and self.calibration is CalibrationMethod.NONE:
            raise ValueError(
                f"model {self.model.value!r} gives decision scores, not probabilities: "
                "choose calibration 'temperature', 'sigmoid' or 'isotonic'"
            )
        return self
