"""What a fitted acoustic model does with new rows, in numpy and pandas alone.

:class:`AcousticInference` is shared by the estimator that trains
(:class:`~vietser.acoustic.train.AcousticModel`) and by :class:`DeployedModel`,
which a run loads to decide new audio without importing scikit-learn: its
``estimator_`` is then a :class:`~vietser.acoustic.compiled.CompiledEstimator`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vietser.acoustic.baseline_free import HomogeneityGate, without_baseline
from vietser.acoustic.compiled import softmax
from vietser.acoustic.config import AcousticConfig
from vietser.acoustic.ood import TrainingDomain
from vietser.acoustic.priors import adjust_to_speaker_mix, temper
from vietser.errors import ModelError
from vietser.features.normalize import SPEAKER_COLUMN, CorpusStats, anchored_to_calm
from vietser.features.raw import raw_feature_columns
from vietser.labels import CLASSES


class AcousticInference:
    """Probabilities and out-of-domain scores of a fitted model: the speaker model for rows with a
    baseline, its companion ``baseline_free_`` for the others (see :class:`~vietser.acoustic.train.AcousticModel`
    for the attributes)."""

    estimator_: Any
    feature_columns_: list[str]
    domain_: TrainingDomain | None
    baseline_free_: AcousticInference | None
    calm_stats_: CorpusStats | None
    homogeneity_: HomogeneityGate | None
    classes_: np.ndarray
    reference: CorpusStats | None

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise ModelError("the acoustic model is not fitted")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, shape (n, 3), columns in CLASSES order (see :func:`predict_proba`)."""
        return predict_proba(self, X)

    def predict_clip_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Each row's probabilities on its own, before a speaker's class mix weighs in (see
        :func:`clip_probabilities`); what attributions explain."""
        return clip_probabilities(self, X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The most probable class name per row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def ood_scores(self, X: pd.DataFrame) -> np.ndarray:
        """Each row's distance from the training clips (1.0 = their edge); NaN for a model without a detector.
        A row without a speaker baseline is measured by the companion that decides it."""
        self._check_fitted()
        if self.domain_ is None or len(X) == 0:
            return np.full(len(X), np.nan)
        scores = np.empty(len(X))
        own, alone = self._by_decider(X)
        if own.any():
            scores[own] = self.domain_.ood_scores(feature_matrix(X[own], self.domain_.columns))
        if alone.any():
            scores[alone] = self.baseline_free_.ood_scores(self._for_companion(X[alone]))
        return scores

    def _for_companion(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows without a baseline as the companion reads them: anchored on the calm training clips by
        the domain ``reference`` where the model has one."""
        if self.reference is None or self.calm_stats_ is None:
            return rows
        columns = [column for column in raw_feature_columns(rows) if column in self.calm_stats_.mean]
        anchored = anchored_to_calm(rows, self.reference, self.calm_stats_, columns)
        return pd.concat([rows.drop(columns=columns), anchored], axis=1)[rows.columns]

    def _by_decider(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the rows this model decides and of those its companion decides (none without one):
        rows without a baseline, and rows of a speaker whose clips hardly vary."""
        if self.baseline_free_ is None:
            return np.ones(len(X), dtype=bool), np.zeros(len(X), dtype=bool)
        alone = without_baseline(X, self.feature_columns_)
        if self.homogeneity_ is not None:
            alone = alone | self.homogeneity_.homogeneous(X)
        return ~alone, alone


class DeployedModel(AcousticInference):
    """A saved model as loaded to decide new rows (:func:`~vietser.acoustic.persist.load_deployed_model`):
    the fitted state of an :class:`~vietser.acoustic.train.AcousticModel`, with no ``fit``."""

    def __init__(
        self, config: AcousticConfig, corpus_stats: dict[str, Any] | None = None, reference: CorpusStats | None = None
    ) -> None:
        self.config = config
        self.corpus_stats = corpus_stats
        self.reference = reference


def predict_proba(model: AcousticInference, frame: pd.DataFrame) -> np.ndarray:
    """Probabilities of ``model`` for every row of ``frame``, shape (n, 3), columns in CLASSES order:
    :func:`clip_probabilities`, and for the clips of a speaker whose clips hardly vary (the
    ``homogeneity_`` gate's speakers, read by the companion) adjusted to that speaker's class mix as
    their clips together say it (:func:`~vietser.acoustic.priors.adjust_to_speaker_mix`).

    Raises:
        ModelError: the frame lacks some of the model's feature columns.
    """
    probabilities = clip_probabilities(model, frame)
    as_one = read_as_one(model, frame)
    if not as_one.any():
        return probabilities
    speakers = frame[SPEAKER_COLUMN].astype(str).to_numpy()
    return adjust_to_speaker_mix(probabilities, speakers, as_one, model.baseline_free_.domain_.class_prior)


def read_as_one(model: AcousticInference, frame: pd.DataFrame) -> np.ndarray:
    """True for the rows :func:`predict_proba` adjusts to their own speaker's class mix: those of a
    speaker whose clips hardly vary, where the model has the gate and a companion with a training prior."""
    gate, companion = model.homogeneity_, model.baseline_free_
    if gate is None or companion is None or companion.domain_ is None or SPEAKER_COLUMN not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return gate.homogeneous(frame)


def clip_probabilities(model: AcousticInference, frame: pd.DataFrame) -> np.ndarray:
    """Each row's probabilities on its own: by the speaker model, or by its companion for rows without a
    baseline and rows of a speaker whose clips hardly vary.

    A row outside the training data (out-of-domain score above 1) is mixed towards the
    model's training prior, fully at a score of 3: it is never reported with high confidence.

    Raises:
        ModelError: the frame lacks some of the model's feature columns.
    """
    model._check_fitted()
    missing = [column for column in model.feature_columns_ if column not in frame.columns]
    if missing:
        raise ModelError(
            f"the features table lacks {len(missing)} columns the model reads (first: {missing[:3]}); "
            "extract features with the same feature set and normalisation as at training"
        )
    if len(frame) == 0:
        return np.zeros((0, len(CLASSES)))
    probabilities = np.empty((len(frame), len(CLASSES)))
    own, alone = model._by_decider(frame)
    if alone.any():
        probabilities[alone] = model.baseline_free_.predict_proba(model._for_companion(frame[alone]))
    if own.any():
        rows = frame[own]
        decided = class_probabilities(model.estimator_, feature_matrix(rows, model.feature_columns_))
        if model.domain_ is not None:
            scores = model.domain_.ood_scores(feature_matrix(rows, model.domain_.columns))
            decided = temper(decided, scores, model.domain_.class_prior)
        probabilities[own] = decided
    return probabilities


def feature_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The given columns as a float matrix, missing values as NaN.

    Raises:
        ModelError: a column is not numeric.
    """
    try:
        return frame[columns].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ModelError(f"feature columns must be numeric: {error}") from error


def estimator_probabilities(estimator: Any, X: np.ndarray) -> np.ndarray:
    """Probabilities in the estimator's own ``classes_`` order.

    Margin classifiers (SVMs) without calibration give softmax of their decision scores.
    """
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    decision = estimator.decision_function(X)
    if decision.ndim == 1:  # binary: the score is for classes_[1]
        decision = np.column_stack([np.zeros_like(decision), decision])
    return softmax(decision)


def class_probabilities(estimator: Any, X: np.ndarray) -> np.ndarray:
    """Probabilities with one column per CLASSES entry, zero for classes the estimator never saw."""
    scores = estimator_probabilities(estimator, X)
    out = np.zeros((len(X), len(CLASSES)))
    for j, name in enumerate(estimator.classes_):
        out[:, CLASSES.index(str(name))] = scores[:, j]
    return out
