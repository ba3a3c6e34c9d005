"""The compiled estimator gives scikit-learn's probabilities, bit for bit, without scikit-learn."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification

from vietser.acoustic.calibration import fit_calibrated
from vietser.acoustic.compiled import CompiledEstimator, compile_estimator
from vietser.acoustic.config import AcousticConfig, CalibrationMethod, FeatureView
from vietser.acoustic.inference import estimator_probabilities
from vietser.acoustic.search import speaker_folds, with_params
from vietser.errors import ModelError

N_COLUMNS = 10


def training_data(n_classes: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, codes = make_classification(
        n_samples=240, n_features=N_COLUMNS, n_informative=6, n_classes=n_classes, n_clusters_per_class=1,
        random_state=0,
    )
    X[::7, 3] = np.nan
    labels = np.array(["angry", "calm", "panic"])[codes]
    speakers = np.array([f"s{i % 8}" for i in range(len(X))])
    return X, labels, speakers


def fitted(model: str, calibration: str, fused: bool, params: dict[str, object], n_classes: int = 3) -> object:
    X, y, speakers = training_data(n_classes)
    config = AcousticConfig(
        model=model,
        calibration=calibration,
        feature_set=FeatureView.EGEMAPS,
        late_fusion=(FeatureView.EMOBASE,) if fused else (),
        cv_folds=3,
    )
    view_sizes = [6, 4] if fused else [N_COLUMNS]
    if fused:
        params = {f"{view.value}__{key}": value for view in config.views for key, value in params.items()}
    unfitted = with_params(config, view_sizes, params)
    splits = speaker_folds(y, speakers, 3, 0)
    return fit_calibrated(unfitted, X, y, splits, CalibrationMethod(calibration))


def new_rows() -> np.ndarray:
    rows = np.random.default_rng(1).normal(size=(50, N_COLUMNS)) * 2
    rows[::4, ::3] = np.nan
    rows[5] = np.nan  # a row with every value missing
    return rows


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("model", "calibration", "fused", "params"),
    [
        ("logreg", "temperature", False, {"model__C": 0.3}),
        ("logreg", "none", False, {"model__C": 1.0}),
        ("logreg", "sigmoid", False, {"model__C": 0.1}),
        ("logreg", "temperature", True, {"model__C": 0.3}),
        ("svm-linear", "temperature", False, {"model__C": 0.01}),
        ("svm-linear", "sigmoid", True, {"model__C": 0.1}),
    ],
)
def test_compiled_probabilities_equal_the_estimators(
    model: str, calibration: str, fused: bool, params: dict, tmp_path: Path
) -> None:
    estimator = fitted(model, calibration, fused, params)
    compiled = compile_estimator(estimator)
    assert compiled is not None
    expected = estimator_probabilities(estimator, new_rows())
    np.testing.assert_allclose(compiled.predict_proba(new_rows()), expected, rtol=0, atol=1e-12)
    compiled.save(tmp_path / "model.npz")
    loaded = CompiledEstimator.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict_proba(new_rows()), compiled.predict_proba(new_rows()))
    assert list(loaded.classes_) == list(estimator.classes_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("model", "calibration", "params", "n_classes"),
    [
        ("svm-rbf", "temperature", {"model__C": 1.0}, 3),
        ("hgb", "temperature", {"model__max_depth": 2}, 3),
        ("logreg", "isotonic", {"model__C": 1.0}, 3),
        ("logreg", "temperature", {"model__C": 1.0}, 2),
    ],
)
def test_estimators_with_parts_only_scikit_learn_computes_are_not_compiled(
    model: str, calibration: str, params: dict, n_classes: int
) -> None:
    assert compile_estimator(fitted(model, calibration, False, params, n_classes)) is None


def test_a_compiled_file_holding_a_pickled_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    compile_estimator(fitted("logreg", "temperature", False, {"model__C": 1.0})).save(path)
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        np.save(tmp_path / "evil.npy", np.array([{"code": "os.system"}], dtype=object), allow_pickle=True)
        archive.write(tmp_path / "evil.npy", "evil.npy")
    with pytest.raises(ModelError, match="not a readable compiled estimator"):
        CompiledEstimator.load(path)


def test_a_compiled_file_whose_arrays_do_not_fit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    compile_estimator(fitted("logreg", "temperature", False, {"model__C": 1.0})).save(path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["root.inner.mean"] = arrays["root.inner.mean"][:-1]
    np.savez(path, **arrays)
    with pytest.raises(ModelError, match="mismatched shapes"):
        CompiledEstimator.load(path)
    layout = json.loads(str(arrays["layout"]))
    layout["root"]["method"] = "isotonic"
    np.savez(path, **{**arrays, "layout": np.array(json.dumps(layout))})
    with pytest.raises(ModelError, match="unknown method"):
        CompiledEstimator.load(path)
