"""The acoustic model: a scikit-learn estimator tuned by speaker-grouped CV, calibrated, refitted."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from vietser.acoustic.baseline_free import HomogeneityGate, companion_config
from vietser.acoustic.calibration import (
    Splits,
    brier_score,
    expected_calibration_error,
    fit_calibrated,
    label_indices,
)
from vietser.acoustic.config import AcousticConfig, Normalisation
from vietser.acoustic.domain import training_domain
from vietser.acoustic.inference import AcousticInference, class_probabilities, feature_matrix
from vietser.acoustic.ood import TrainingDomain
from vietser.acoustic.models import feature_columns
from vietser.acoustic.records import CalibrationReport, CVResult, library_versions
from vietser.acoustic.search import speaker_folds, tune, with_params
from vietser.data.channel import is_copy_through, source_speakers
from vietser.errors import ModelError
from vietser.features.catalog import SPREAD_PREFIX
from vietser.features.normalize import CorpusStats, composition_copies
from vietser.features.raw import raw_feature_columns
from vietser.labels import CLASSES, Emotion

ECE_BINS = 10


class AcousticModel(AcousticInference, ClassifierMixin, BaseEstimator):
    """The acoustic model as a scikit-learn estimator over a features table.

    ``fit`` learns from exactly the rows it is given (the caller chooses them; a ``split``
    column is ignored): tune by speaker-grouped CV, calibrate, refit. Channel copies through
    ``config.companion_channels`` train the companion only. Learned state ends in
    ``_``; ``corpus_stats`` is the normalisation fallback (``CorpusStats.model_dump()``) kept
    with the model, ``domain_`` the out-of-domain detector and class prior of the training clips,
    ``baseline_free_`` the companion for rows without a speaker baseline (and, by ``homogeneity_``,
    of speakers whose clips hardly vary) and ``calm_stats_`` the raw-feature moments of the calm
    training clips, where a reference of ordinary speech is placed.

    Example::

        model = AcousticModel(AcousticConfig()).fit(features[features.split == "train"])
        probabilities = model.predict_proba(features[features.split == "test"])

    Args:
        config: model kind, feature set, normalisation, calibration; ``None`` means ``AcousticConfig()``.
        corpus_stats: normalisation fallback to keep with the model, if any.
        tuned: a hyperparameter search already made with this configuration (the ``cv_`` of another fit,
            e.g. on the train split of the same run): its best parameters are taken as they are, with no
            search of its own, and it becomes this model's ``cv_``. Refits and fold models reuse the
            search this way instead of repeating it.
        reference: statistics of ordinary speech of the deployment's domain (``vietser adapt --audio``):
            rows without a speaker baseline are moved onto the calm training clips by it
            (:func:`~vietser.features.normalize.anchored_to_calm`) before the companion reads them.
    """

    def __init__(
        self,
        config: AcousticConfig | None = None,
        corpus_stats: dict[str, Any] | None = None,
        tuned: CVResult | None = None,
        reference: CorpusStats | None = None,
    ) -> None:
        self.config = config
        self.corpus_stats = corpus_stats
        self.tuned = tuned
        self.reference = reference

    def fit(self, X: pd.DataFrame, y: Sequence[str] | None = None, groups: Sequence[str] | None = None) -> AcousticModel:
        """Learn from every row of ``X``.

        Args:
            X: a features table (see docs/design.md), the training rows only.
            y: class names per row; defaults to ``X["label"]``. Integer codes are refused:
                ``cross_val_predict(..., method="predict_proba")`` encodes ``y`` so, call it without ``y``.
            groups: speaker per row; defaults to ``X["speaker"]``.

        Raises:
            ModelError: missing columns, unknown labels, fewer than two classes or speakers.
        """
        config = self.config or AcousticConfig()
        every_row = _training_rows(X, y, groups)
        clips = own_training_rows(every_row, config)
        view_columns = [feature_columns(X.columns, view, config.normalisation) for view in config.views]
        columns = [column for view in view_columns for column in view]
        X_train, labels, speakers = _training_arrays(clips, columns)
        splits = speaker_folds(labels, speakers, config.cv_folds, config.seed)
        # Hyperparameters are chosen, and calibration measured, on the clips as they came; the
        # calm-share copies only join the final fit (they would multiply the search's cost).
        view_sizes = [len(view) for view in view_columns]
        if self.tuned is None:
            unfitted, self.cv_ = tune(config, view_sizes, X_train, labels, speakers, splits)
        else:
            unfitted, self.cv_ = with_params(config, view_sizes, self.tuned.best_params), self.tuned
        self.calibration_ = (
            measure_calibration(unfitted, X_train, labels, speakers, splits, config) if config.measure_calibration else None
        )
        fit_rows = _with_composition_copies(clips, config)
        if len(fit_rows) > len(clips):
            X_train, labels, speakers = _training_arrays(fit_rows, columns)
            splits = speaker_folds(labels, speakers, config.cv_folds, config.seed)
        self.config_ = config
        self.estimator_ = fit_calibrated(unfitted, X_train, labels, splits, config.calibration)
        self.feature_columns_ = columns
        self.train_data_sha256_ = train_data_hash(X_train, labels, columns)
        self.versions_ = library_versions()
        self.domain_: TrainingDomain | None = _training_domain(clips, view_columns[0], self.estimator_, columns, config.seed)
        self.baseline_free_: AcousticModel | None = None
        self.calm_stats_: CorpusStats | None = None
        self.homogeneity_: HomogeneityGate | None = None
        companion = companion_config(config, columns)
        if companion is not None:
            searched = self.tuned.baseline_free if self.tuned is not None else None
            self.baseline_free_ = AcousticModel(companion, tuned=searched).fit(every_row)
            self.cv_ = self.cv_.model_copy(update={"baseline_free": self.baseline_free_.cv_})
            self.calm_stats_ = CorpusStats.from_frame(clips[clips["label"] == Emotion.CALM.value], raw_feature_columns(clips))
            # With calm-share copies the speaker model has learnt what a calm-only baseline means.
            self.homogeneity_ = None if config.calm_shares else HomogeneityGate.fit(clips, columns)
        self.classes_ = np.array(CLASSES, dtype=object)
        return self

    def _check_fitted(self) -> None:
        check_is_fitted(self, "estimator_")


def measure_calibration(
    pipeline: ClassifierMixin, X: np.ndarray, y: np.ndarray, speakers: np.ndarray, splits: Splits, config: AcousticConfig
) -> CalibrationReport:
    """ECE and Brier of out-of-fold probabilities, raw and calibrated within each fold's training part."""
    before = np.zeros((len(y), len(CLASSES)))
    after = np.zeros_like(before)
    for train, test in splits:
        raw = clone(pipeline).fit(X[train], y[train])
        before[test] = class_probabilities(raw, X[test])
        try:
            inner = speaker_folds(y[train], speakers[train], config.cv_folds, config.seed)
        except ModelError as error:
            raise ModelError(f"cannot measure calibration: {error}; or set measure_calibration=False") from error
        calibrated = fit_calibrated(pipeline, X[train], y[train], inner, config.calibration)
        after[test] = class_probabilities(calibrated, X[test])
    return CalibrationReport(
        method=config.calibration,
        n_clips=len(y),
        n_bins=ECE_BINS,
        ece_before=expected_calibration_error(before, y, ECE_BINS),
        ece_after=expected_calibration_error(after, y, ECE_BINS),
        brier_before=brier_score(before, y),
        brier_after=brier_score(after, y),
    )


def _training_domain(
    train: pd.DataFrame, view: list[str], estimator: ClassifierMixin, columns: list[str], seed: int
) -> TrainingDomain:
    """The detector over the first view's own columns (not the speaker spreads), on the clips as they came."""
    detector_columns = [column for column in view if not column.startswith(SPREAD_PREFIX)]
    probabilities = class_probabilities(estimator, feature_matrix(train, columns))
    return training_domain(feature_matrix(train, detector_columns), detector_columns, probabilities, seed)


def train_data_hash(X: np.ndarray, y: np.ndarray, columns: list[str]) -> str:
    """SHA-256 of the feature names, the train feature matrix and the labels."""
    digest = hashlib.sha256()
    digest.update("\n".join(columns).encode())
    digest.update(np.ascontiguousarray(X, dtype="<f8").tobytes())
    digest.update("\n".join(map(str, y)).encode())
    return digest.hexdigest()


def _training_arrays(rows: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and speakers of training rows (a channel copy's speaker is its source's: a fold
    that holds out a speaker holds out the speaker's copies too, or calibration and the search learn
    from a model that heard the same utterance through another channel).

    Raises:
        ModelError: a label outside CLASSES, or fewer than two classes.
    """
    y = rows["label"].astype(str).to_numpy(dtype=object)
    label_indices(y)  # raises on labels outside CLASSES
    if len(set(y)) < 2:
        raise ModelError(f"the training rows have only the class {sorted(set(y))}; a classifier needs at least two")
    return feature_matrix(rows, columns), y, source_speakers(rows["speaker"])


def _with_composition_copies(train: pd.DataFrame, config: AcousticConfig) -> pd.DataFrame:
    if config.normalisation is not Normalisation.SPEAKER or not config.calm_shares:
        return train
    copies = composition_copies(train, raw_feature_columns(train), config.calm_shares, config.seed)
    return pd.concat([train, copies[train.columns]], ignore_index=True)


def own_training_rows(rows: pd.DataFrame, config: AcousticConfig) -> pd.DataFrame:
    """``rows`` less the channel copies only the companion trains on (``config.companion_channels``).

    Raises:
        ModelError: no row is left.
    """
    own = rows[~is_copy_through(rows["speaker"], config.companion_channels)]
    if len(own) == 0:
        raise ModelError(
            f"every training row is a copy through {list(config.companion_channels)}, which only the companion "
            "reads; train on the clips themselves too"
        )
    return own


def _training_rows(X: pd.DataFrame, y: Sequence[str] | None, groups: Sequence[str] | None) -> pd.DataFrame:
    """``X`` with its ``label`` and ``speaker`` columns set from ``y`` and ``groups`` where given.

    Raises:
        ModelError: no rows, a lengths mismatch, or no labels or speakers at all.
    """
    if len(X) == 0:
        raise ModelError("no training rows given; pass the features of the clips to learn from")
    rows = X
    for column, values in (("label", y), ("speaker", groups)):
        if values is not None:
            if len(values) != len(X):
                raise ModelError(f"{len(values)} {column}s for {len(X)} rows; give one per row")
            rows = rows.assign(**{column: np.asarray(values, dtype=object)})
        elif column not in X.columns:
            argument = "y" if column == "label" else "groups"
            raise ModelError(f"the features table lacks a {column!r} column; add it or pass {argument}=")
    return rows
