"""Feature column selection and the scikit-learn pipelines with their search grids."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from vietser.acoustic.config import VIEW_SETS, FeatureView, ModelKind, Normalisation
from vietser.errors import ModelError
from vietser.features.catalog import SPREAD_PREFIX, VOICE_GROUPS, Z_PREFIX, describe

# Small grids: a few hundred clips from a handful of speakers cannot support a
# wide search without overfitting the folds. Each lists its strongest regularisation
# first: the search keeps the first candidate within noise of the best
# (search.simplest_within_noise). HGB's grid is read learning rate, then depth.
PARAM_GRIDS: dict[ModelKind, dict[str, list[Any]]] = {
    ModelKind.SVM_RBF: {"model__C": [0.3, 1.0, 3.0, 10.0]},
    # Wide sets (emobase, ComParE) want the low ends of the linear models' grids.
    ModelKind.SVM_LINEAR: {"model__C": [0.0001, 0.001, 0.01, 0.1, 1.0]},
    ModelKind.LOGREG: {"model__C": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]},
    ModelKind.HGB: {"model__learning_rate": [0.05, 0.1], "model__max_depth": [2, 3]},
    ModelKind.MLP: {"model__alpha": [10.0, 1.0, 0.1]},
}


def feature_columns(columns: Iterable[str], feature_set: FeatureView, normalisation: Normalisation) -> list[str]:
    """The columns of a features table that a model with these settings reads, in table order
    (with speaker normalisation, the ``spread.`` columns last).

    Raises:
        ModelError: the table has none of them.
    """
    columns = list(columns)
    speaker = normalisation is Normalisation.SPEAKER
    prefix = Z_PREFIX if speaker else ""
    wanted = tuple(f"{prefix}{name}." for name in VIEW_SETS[feature_set])
    selected = [column for column in columns if column.startswith(wanted)]
    if feature_set is FeatureView.VOICE:
        selected = [column for column in selected if describe(column).group in VOICE_GROUPS]
    if not selected:
        raise ModelError(
            f"the features table has no columns starting with {' or '.join(repr(w) for w in wanted)}; "
            f"extract the {'/'.join(VIEW_SETS[feature_set])} features first (vietser features --sets), "
            "or choose another feature_set / late_fusion / normalisation"
        )
    if speaker:  # what the speaker's clips vary by, beside each clip's z
        selected += [column for column in columns if column.startswith(SPREAD_PREFIX)]
    return selected


def _classifier(kind: ModelKind, seed: int) -> ClassifierMixin:
    if kind is ModelKind.SVM_RBF:
        return SVC(kernel="rbf", gamma="scale", class_weight="balanced")
    if kind is ModelKind.SVM_LINEAR:
        return LinearSVC(class_weight="balanced", max_iter=20_000, random_state=seed)
    if kind is ModelKind.LOGREG:
        return LogisticRegression(class_weight="balanced", max_iter=5_000)
    if kind is ModelKind.HGB:
        # No class_weight: sample weights make every fit about ten times slower, and
        # 64 bins are plenty for a few hundred clips (255 doubles the time).
        return HistGradientBoostingClassifier(max_iter=100, max_bins=64, random_state=seed)
    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=seed)


def build_pipeline(kind: ModelKind, seed: int = 0) -> Pipeline:
    """Median imputation, standard scaling (fitted on training data only), then the classifier."""
    return Pipeline(
        [
            # keep_empty_features keeps column i of the model aligned with feature_columns[i].
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", _classifier(kind, seed)),
        ]
    )
