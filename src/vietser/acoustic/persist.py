"""Saving and loading acoustic models: skops file, the estimator compiled to arrays, and a JSON sidecar.

``model.skops`` holds only the scikit-learn estimator; ``model.npz`` the same
estimator compiled for prediction with numpy alone, where its parts allow
(:mod:`vietser.acoustic.compiled`), which :func:`load_deployed_model` reads
without importing scikit-learn or skops; ``baseline-free/``,
where the model has one, its companion for clips without a speaker baseline,
saved the same way. Loading never trusts a
type that our own pipelines do not produce: any other type found in the file
is reported and refused. ``model.json`` records what the model reads, how it
was trained and the SHA-256 of ``model.skops`` and ``model.npz`` (and of the companion's
sidecar, which holds its own), so a file swapped or edited
after saving is refused too.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
import zipfile
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from vietser.acoustic.baseline_free import HomogeneityGate
from vietser.acoustic.compiled import CompiledEstimator, compile_estimator
from vietser.acoustic.config import AcousticConfig
from vietser.acoustic.inference import AcousticInference, DeployedModel, estimator_probabilities
from vietser.acoustic.ood import TrainingDomain
from vietser.acoustic.records import FEATURES_VERSION_KEY, CalibrationReport, CVResult, library_versions
from vietser.errors import ModelError, UntrustedModelError
from vietser.features.normalize import CorpusStats
from vietser.labels import CLASSES
from vietser.run.dir import BASELINE_FREE_MODEL_DIR, COMPILED_MODEL_FILE, MODEL_FILE, SIDECAR_FILE

if TYPE_CHECKING:
    from vietser.acoustic.train import AcousticModel

Model = TypeVar("Model", bound=AcousticInference)

# The compiled estimator must give the scikit-learn estimator's probabilities to within this.
_COMPILED_TOLERANCE = 1e-9

# 2: acoustic configs gained late_fusion (a format-1 card would read as fused).
# 3: the training domain (out-of-domain detector, class prior) and speaker-spread columns.
FORMAT_VERSION = 3

# Types that skops does not trust by default but that our pipelines contain
# (calibrators, boosted-tree predictors, the MLP optimiser, our late fusion).
EXPECTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.calibration._TemperatureScaling",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "vietser.acoustic.fusion.LateFusion",
    }
)


class ModelCard(BaseModel):
    """The JSON sidecar ``model.json`` written next to ``model.skops``."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    classes: list[str]
    config: AcousticConfig
    feature_columns: list[str]
    versions: dict[str, str]
    train_data_sha256: str
    model_sha256: str
    cv: CVResult
    calibration: CalibrationReport | None
    corpus_stats: dict[str, Any] | None
    domain: TrainingDomain | None
    # SHA-256 of the companion's model.json, for clips without a speaker baseline (None: no companion).
    baseline_free_sha256: str | None = None
    # Raw-feature moments of the calm training clips (models with a companion; None before they were kept).
    calm_stats: CorpusStats | None = None
    # Ordinary speech of the deployment's domain (`vietser adapt --audio`), for rows without a baseline.
    reference: CorpusStats | None = None
    # Which speakers' clips vary too little for their baseline (None before the gate was kept).
    homogeneity: HomogeneityGate | None = None
    # SHA-256 of model.npz (None: the estimator has parts only scikit-learn computes, or it predates the file).
    compiled_sha256: str | None = None


def save_model(model: AcousticModel, run_dir: str | Path) -> Path:
    """Write ``model.skops``, ``model.npz`` (where the estimator compiles) and ``model.json`` into
    ``run_dir``; return the skops path."""
    import skops.io

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model_path = run_dir / MODEL_FILE
    skops.io.dump(model.estimator_, model_path)
    compiled_path = run_dir / COMPILED_MODEL_FILE
    compiled_path.unlink(missing_ok=True)
    compiled = _compiled(model.estimator_)
    if compiled is not None:
        compiled.save(compiled_path)
    companion_dir = run_dir / BASELINE_FREE_MODEL_DIR
    shutil.rmtree(companion_dir, ignore_errors=True)
    if model.baseline_free_ is not None:
        save_model(model.baseline_free_, companion_dir)
    card = ModelCard(
        classes=list(model.classes_),
        config=model.config_,
        feature_columns=model.feature_columns_,
        versions=model.versions_,
        train_data_sha256=model.train_data_sha256_,
        model_sha256=_sha256(model_path),
        cv=model.cv_,
        calibration=model.calibration_,
        corpus_stats=model.corpus_stats,
        domain=model.domain_,
        baseline_free_sha256=_sha256(companion_dir / SIDECAR_FILE) if model.baseline_free_ is not None else None,
        calm_stats=model.calm_stats_,
        reference=model.reference,
        homogeneity=model.homogeneity_,
        compiled_sha256=_sha256(compiled_path) if compiled is not None else None,
    )
    (run_dir / SIDECAR_FILE).write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return model_path


def _compiled(estimator: Any) -> CompiledEstimator | None:
    """``estimator`` compiled, once it gives the estimator's own probabilities on probe rows (with
    missing values); None where it does not compile or disagrees (a scikit-learn whose arithmetic changed)."""
    compiled = compile_estimator(estimator)
    if compiled is None:
        return None
    probe = np.random.default_rng(0).normal(size=(16, compiled.n_features_in_)) * 3
    probe[::3, ::2] = np.nan
    expected = estimator_probabilities(estimator, probe)
    return compiled if np.allclose(compiled.predict_proba(probe), expected, rtol=0, atol=_COMPILED_TOLERANCE) else None


def load_deployed_model(run_dir: str | Path) -> AcousticInference:
    """A model saved by :func:`save_model`, loaded to decide new rows: from ``model.npz`` without
    importing scikit-learn where the model has one (companion included), else as :func:`load_model`.

    Raises:
        ModelError: files missing, sidecar invalid, or sidecar and model disagree.
        UntrustedModelError: a file was changed after saving, or the skops file holds unexpected types.
    """
    run_dir = Path(run_dir)
    card = _read_card(run_dir / SIDECAR_FILE)
    if card.compiled_sha256 is None:
        return _loaded_model(run_dir, card)
    path = run_dir / COMPILED_MODEL_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing; {run_dir / SIDECAR_FILE} records one. Retrain the model")
    _check_sha256(path, card.compiled_sha256)
    estimator = CompiledEstimator.load(path)
    _check_consistent(card, estimator, path)
    companion = _read_companion(run_dir, card, load_deployed_model)
    _check_versions(card.versions, run_dir)
    return _restored(DeployedModel(card.config, card.corpus_stats, card.reference), card, estimator, companion)


def load_model(run_dir: str | Path) -> AcousticModel:
    """Load a model saved by :func:`save_model` as the scikit-learn estimator it was trained as.

    Raises:
        ModelError: files missing, sidecar invalid, or sidecar and model disagree.
        UntrustedModelError: the skops file holds unexpected types or was changed after saving.
    """
    run_dir = Path(run_dir)
    return _loaded_model(run_dir, _read_card(run_dir / SIDECAR_FILE))


def _loaded_model(run_dir: Path, card: ModelCard) -> AcousticModel:
    """The scikit-learn model of ``card`` in ``run_dir``, its files checked (see :func:`load_model`)."""
    from vietser.acoustic.train import AcousticModel

    model_path = run_dir / MODEL_FILE
    estimator = _load_estimator(model_path, card.model_sha256)
    _check_consistent(card, estimator, model_path)
    companion = _read_companion(run_dir, card, load_model)
    _check_versions(card.versions, run_dir)
    model = AcousticModel(card.config, card.corpus_stats, reference=card.reference)
    return _restored(model, card, estimator, companion)


def _restored(model: Model, card: ModelCard, estimator: Any, companion: AcousticInference | None) -> Model:
    """``model`` with the fitted state that ``card``, ``estimator`` and ``companion`` hold."""
    model.config_ = card.config
    model.estimator_ = estimator
    model.feature_columns_ = card.feature_columns
    model.cv_ = card.cv
    model.calibration_ = card.calibration
    model.train_data_sha256_ = card.train_data_sha256
    model.versions_ = card.versions
    model.domain_ = card.domain
    model.baseline_free_ = companion
    model.calm_stats_ = card.calm_stats
    model.homogeneity_ = card.homogeneity
    model.classes_ = np.array(card.classes, dtype=object)
    return model


def _read_companion(run_dir: Path, card: ModelCard, load: Callable[[Path], Any]) -> Any:
    """The model for clips without a speaker baseline (None: the model has none), loaded by ``load``
    once its sidecar matches the SHA-256 recorded in ``card``.

    Raises:
        ModelError: it is missing or invalid.
        UntrustedModelError: its sidecar changed after saving, or one of its files is not what was saved.
    """
    if card.baseline_free_sha256 is None:
        return None
    sidecar = run_dir / BASELINE_FREE_MODEL_DIR / SIDECAR_FILE
    if not sidecar.is_file():
        raise ModelError(f"{sidecar} is missing; the model in {run_dir} has a companion for single clips. Retrain it")
    _check_sha256(sidecar, card.baseline_free_sha256, recorded_in=run_dir / SIDECAR_FILE)
    return load(run_dir / BASELINE_FREE_MODEL_DIR)


def _check_sha256(path: Path, sha256: str, recorded_in: Path | str = SIDECAR_FILE) -> None:
    """Refuse ``path`` where it no longer matches the SHA-256 recorded when it was saved.

    Raises:
        UntrustedModelError: it changed after saving.
    """
    if _sha256(path) != sha256:
        raise UntrustedModelError(
            f"{path} does not match the SHA-256 recorded in {recorded_in}: it changed after saving. "
            "Retrain the model, or restore the original file"
        )


def _load_estimator(path: Path, sha256: str) -> Any:
    """The estimator in a skops file, once its types and its recorded SHA-256 are checked.

    Raises:
        ModelError: the file is missing or unreadable.
        UntrustedModelError: it holds unexpected types or changed after saving.
    """
    import skops.io

    if not path.is_file():
        raise ModelError(f"{path} is missing; train a model into {path.parent} first")
    trusted = _checked_untrusted_types(path)
    _check_sha256(path, sha256)
    return skops.io.load(path, trusted=trusted)


def _read_card(path: Path) -> ModelCard:
    if not path.is_file():
        raise ModelError(f"{path} is missing; a model directory needs both {MODEL_FILE} and {SIDECAR_FILE}")
    try:
        card = ModelCard.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as error:
        raise ModelError(f"{path} is not a valid model sidecar: {error}") from error
    if card.format_version != FORMAT_VERSION:
        raise ModelError(
            f"{path} is model format {card.format_version}; this vietser reads format {FORMAT_VERSION}. "
            "Retrain the model (vietser train) with this version"
        )
    return card


def _checked_untrusted_types(model_path: Path) -> list[str]:
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=model_path)
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ModelError(f"{model_path} is not a readable skops file ({error}); retrain the model") from error
    unexpected = sorted(set(untrusted) - EXPECTED_TYPES)
    if unexpected:
        raise UntrustedModelError(
            f"{model_path} contains types that a vietser acoustic model never holds: {unexpected}. "
            f"It was not loaded. Inspect it with skops.io.get_untrusted_types(file={str(model_path)!r}) "
            "and load it yourself only if you trust where it came from"
        )
    return untrusted


def _check_consistent(card: ModelCard, estimator: Any, model_path: Path) -> None:
    if card.classes != list(CLASSES):
        raise ModelError(f"{SIDECAR_FILE} lists classes {card.classes}, expected {list(CLASSES)}; retrain the model")
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features != len(card.feature_columns):
        raise ModelError(
            f"{model_path} reads {n_features} features but {SIDECAR_FILE} lists {len(card.feature_columns)}; "
            "the two files do not belong together"
        )


def _check_versions(saved: dict[str, str], run_dir: Path) -> None:
    """Refuse a model trained on features this vietser no longer computes; warn on other library versions.

    Raises:
        ModelError: the features' version differs (models saved before it was recorded had version 1).
    """
    current = library_versions()
    trained_on = saved.get(FEATURES_VERSION_KEY, "1")
    if trained_on != current[FEATURES_VERSION_KEY]:
        raise ModelError(
            f"the model in {run_dir} was trained on features of version {trained_on}; this vietser computes "
            f"version {current[FEATURES_VERSION_KEY]} (see vietser.features.cache), so its decisions would be "
            "wrong. Retrain it with `vietser run`"
        )
    changed = [f"{name} {saved.get(name)} -> {now}" for name, now in current.items() if saved.get(name) != now]
    if changed:
        details = ", ".join(changed)
        warnings.warn(
            f"model saved with other library versions ({details}); retrain if predictions look wrong", stacklevel=3
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
