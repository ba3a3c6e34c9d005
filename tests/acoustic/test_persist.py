from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.acoustic.frames import FrameMaker, make_feature_frame, train_rows
from vietser.acoustic import AcousticConfig, AcousticModel, load_model, predict_proba, save_model
from vietser.acoustic.inference import DeployedModel
from vietser.acoustic.persist import load_deployed_model
from vietser.errors import ModelError, UntrustedModelError
from vietser.features.cache import FEATURE_VERSION
from vietser.labels import CLASSES


@pytest.fixture(scope="module")
def trained() -> AcousticModel:
    return AcousticModel(AcousticConfig(cv_folds=3), corpus_stats={"means": {"x": 1.0}}).fit(train_rows(make_feature_frame()))


def _retype_nodes(node: object, old: tuple[str, str], new: tuple[str, str]) -> None:
    if isinstance(node, dict):
        if (node.get("__module__"), node.get("__class__")) == old:
            node["__module__"], node["__class__"] = new
        for child in node.values():
            _retype_nodes(child, old, new)
    elif isinstance(node, list):
        for child in node:
            _retype_nodes(child, old, new)


def _rewrite_schema(model_path: Path, old: tuple[str, str] = ("", ""), new: tuple[str, str] = ("", "")) -> None:
    """Re-pack the skops archive with its schema re-serialised, object types ``old`` renamed to ``new``."""
    with zipfile.ZipFile(model_path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(entries["schema.json"])
    _retype_nodes(schema, old, new)
    entries["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(model_path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("kind", "calibration"),
    [
        ("svm-rbf", "sigmoid"),
        ("svm-linear", "isotonic"),
        ("logreg", "none"),
        ("hgb", "temperature"),
        ("mlp", "temperature"),
    ],
)
def test_saved_model_loads_with_identical_probabilities(
    feature_frame: FrameMaker, tmp_path: Path, kind: str, calibration: str
) -> None:
    frame = feature_frame(n_speakers=6, clips_per_speaker=20)
    config = AcousticConfig(model=kind, calibration=calibration, cv_folds=2, measure_calibration=False)
    model = AcousticModel(config).fit(train_rows(frame))

    save_model(model, tmp_path)
    loaded = load_model(tmp_path)

    np.testing.assert_array_equal(predict_proba(loaded, frame), predict_proba(model, frame))


def test_loaded_model_keeps_its_training_record(trained: AcousticModel, tmp_path: Path) -> None:
    save_model(trained, tmp_path)
    loaded = load_model(tmp_path)

    assert loaded.config == trained.config
    assert loaded.feature_columns_ == trained.feature_columns_
    assert loaded.cv_ == trained.cv_
    assert loaded.calibration_ == trained.calibration_
    assert loaded.corpus_stats == {"means": {"x": 1.0}}
    assert loaded.get_params() == trained.get_params()


def test_sidecar_records_classes_versions_and_hashes(trained: AcousticModel, tmp_path: Path) -> None:
    save_model(trained, tmp_path)
    card = json.loads((tmp_path / "model.json").read_text())

    assert card["classes"] == list(CLASSES)
    assert {"scikit-learn", "numpy", "vietser"} <= card["versions"].keys()
    assert card["train_data_sha256"] == trained.train_data_sha256_
    assert len(card["model_sha256"]) == 64


def test_model_file_edited_to_hold_an_unexpected_type_is_refused(trained: AcousticModel, tmp_path: Path) -> None:
    model_path = save_model(trained, tmp_path)
    _rewrite_schema(model_path, ("sklearn.impute._base", "SimpleImputer"), ("subprocess", "Popen"))

    with pytest.raises(UntrustedModelError, match="subprocess.Popen"):
        load_model(tmp_path)


def test_model_file_changed_after_saving_is_refused(trained: AcousticModel, tmp_path: Path) -> None:
    model_path = save_model(trained, tmp_path)
    _rewrite_schema(model_path)

    with pytest.raises(UntrustedModelError, match="SHA-256"):
        load_model(tmp_path)


def test_sidecar_from_another_model_is_refused(trained: AcousticModel, tmp_path: Path) -> None:
    save_model(trained, tmp_path)
    card = json.loads((tmp_path / "model.json").read_text())
    card["model_sha256"] = "0" * 64
    (tmp_path / "model.json").write_text(json.dumps(card))

    with pytest.raises(UntrustedModelError, match="SHA-256"):
        load_model(tmp_path)


def test_missing_sidecar_is_reported(trained: AcousticModel, tmp_path: Path) -> None:
    save_model(trained, tmp_path)
    (tmp_path / "model.json").unlink()

    with pytest.raises(ModelError, match="model.json"):
        load_model(tmp_path)


def test_file_that_is_not_a_skops_archive_is_refused(trained: AcousticModel, tmp_path: Path) -> None:
    model_path = save_model(trained, tmp_path)
    model_path.write_bytes(b"not a zip")

    with pytest.raises(ModelError, match="not a readable skops file"):
        load_model(tmp_path)


def test_sidecar_of_an_older_format_asks_for_retraining(trained: AcousticModel, tmp_path: Path) -> None:
    save_model(trained, tmp_path)
    card = json.loads((tmp_path / "model.json").read_text())
    card["format_version"] = 1
    del card["config"]["late_fusion"]
    (tmp_path / "model.json").write_text(json.dumps(card))

    with pytest.raises(ModelError, match="format 1.*Retrain"):
        load_model(tmp_path)


@pytest.mark.parametrize("load", [load_model, load_deployed_model])
def test_model_trained_on_features_of_another_version_is_refused(
    trained: AcousticModel, tmp_path: Path, load: object
) -> None:
    save_model(trained, tmp_path)
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["versions"]["features"] == str(FEATURE_VERSION)
    del card["versions"]["features"]  # saved before the features' version was recorded: version 1
    (tmp_path / "model.json").write_text(json.dumps(card))

    with pytest.raises(ModelError, match=f"features of version 1; this vietser computes version {FEATURE_VERSION}"):
        load(tmp_path)  # type: ignore[operator]


def test_deployed_model_decides_as_the_trained_model(trained: AcousticModel, tmp_path: Path) -> None:
    save_model(trained, tmp_path)
    deployed = load_deployed_model(tmp_path)
    frame = make_feature_frame(seed=3)

    assert isinstance(deployed, DeployedModel) and (tmp_path / "model.npz").is_file()
    np.testing.assert_array_equal(deployed.predict_proba(frame), trained.predict_proba(frame))
    np.testing.assert_array_equal(deployed.ood_scores(frame), trained.ood_scores(frame))
    assert deployed.cv_ == trained.cv_ and deployed.feature_columns_ == trained.feature_columns_


def test_compiled_file_changed_after_saving_is_refused(trained: AcousticModel, tmp_path: Path) -> None:
    save_model(trained, tmp_path)
    with np.load(tmp_path / "model.npz") as data:
        arrays = {key: data[key] for key in data.files}
    coef = next(key for key in arrays if key.endswith(".coef"))
    arrays[coef] = arrays[coef] * 2
    np.savez(tmp_path / "model.npz", **arrays)

    with pytest.raises(UntrustedModelError, match="model.npz does not match the SHA-256"):
        load_deployed_model(tmp_path)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_model_that_does_not_compile_is_deployed_through_skops(feature_frame: FrameMaker, tmp_path: Path) -> None:
    frame = feature_frame(n_speakers=6, clips_per_speaker=20)
    config = AcousticConfig(model="hgb", cv_folds=2, measure_calibration=False)
    model = AcousticModel(config).fit(train_rows(frame))
    save_model(model, tmp_path)

    assert not (tmp_path / "model.npz").exists()
    deployed = load_deployed_model(tmp_path)
    assert isinstance(deployed, AcousticModel)
    np.testing.assert_array_equal(deployed.predict_proba(frame), model.predict_proba(frame))
