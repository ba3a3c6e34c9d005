"""Late fusion: one model per feature view, probabilities averaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tests.acoustic.frames import train_rows
from vietser.acoustic import AcousticConfig, AcousticModel, load_model, save_model
from vietser.acoustic.fusion import LateFusion
from vietser.labels import CLASSES

FUSED = AcousticConfig(measure_calibration=False, cv_folds=3)


def fused_with(**settings: object) -> AcousticConfig:
    """FUSED with some settings changed (validated, unlike model_copy)."""
    return AcousticConfig.model_validate({**FUSED.model_dump(), **settings})


def split_information_frame(n_speakers: int = 12, clips: int = 30, seed: int = 0) -> pd.DataFrame:
    """eGeMAPS columns tell calm from aroused speech, emobase columns tell angry from panic; neither does both."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(CLASSES, size=n_speakers * clips)
    speakers = np.repeat([f"spk{i:02d}" for i in range(n_speakers)], clips)
    calm = (labels == "calm").astype(float)
    # calm clips sit on either side at random, so this column cannot tell calm apart
    angry_vs_panic = np.select([labels == "angry", labels == "panic"], [1.0, -1.0], rng.choice([1.0, -1.0], len(labels)))
    columns = {
        "egemaps.arousal": 2.0 * calm + rng.normal(0, 0.5, len(labels)),
        "egemaps.noise": rng.normal(0, 1, len(labels)),
        "prosody.noise": rng.normal(0, 1, len(labels)),
        "emobase.quality": 2.0 * angry_vs_panic + rng.normal(0, 0.5, len(labels)),
        "emobase.noise": rng.normal(0, 1, len(labels)),
    }
    raw = pd.DataFrame(columns)
    z = raw.groupby(speakers).transform(lambda s: (s - s.mean()) / s.std(ddof=0)).add_prefix("z.")
    split = np.where(np.isin(speakers, [f"spk{i:02d}" for i in range(8)]), "train", "test")
    meta = pd.DataFrame({"clip_id": [f"c{i}.wav" for i in range(len(labels))], "label": labels, "speaker": speakers, "split": split})
    return pd.concat([meta, raw, z], axis=1)


def test_fused_views_decide_what_neither_view_can_alone() -> None:
    frame = split_information_frame()
    test = frame[frame["split"] == "test"]

    def accuracy(config: AcousticConfig) -> float:
        return float(np.mean(AcousticModel(config).fit(train_rows(frame)).predict(test) == test["label"].to_numpy()))

    fused = accuracy(FUSED)
    alone = [
        accuracy(fused_with(late_fusion=())),
        accuracy(fused_with(feature_set="emobase", late_fusion=())),
    ]
    assert fused > 0.9
    assert fused > max(alone) + 0.2


def test_each_view_is_tuned_on_its_own_columns() -> None:
    model = AcousticModel(FUSED).fit(train_rows(split_information_frame()))

    fusion = model.estimator_.estimator  # calibrated around the fusion
    assert isinstance(fusion, LateFusion)
    assert model.feature_columns_ == ["z.egemaps.arousal", "z.egemaps.noise", "z.prosody.noise", "z.emobase.quality", "z.emobase.noise"]
    assert set(model.cv_.best_params) == {"both__model__C", "emobase__model__C"}
    assert {name.split("__")[0] for c in model.cv_.candidates for name in c.params} == {"both", "emobase"}
    assert [columns for _, _, columns in fusion.views] == [[0, 1, 2], [3, 4]]


def test_calibrated_fused_model_survives_save_and_load(tmp_path: Path) -> None:
    frame = split_information_frame()
    model = AcousticModel(AcousticConfig(cv_folds=3, calibration="temperature")).fit(train_rows(frame))
    save_model(model, tmp_path)

    loaded = load_model(tmp_path)

    assert loaded.config.views == model.config.views
    assert loaded.calibration_ is not None
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    assert np.allclose(loaded.predict_proba(frame).sum(axis=1), 1.0)


def test_margin_models_fuse_too() -> None:
    frame = split_information_frame()
    test = frame[frame["split"] == "test"]
    model = AcousticModel(fused_with(model="svm-linear")).fit(train_rows(frame))

    assert np.mean(model.predict(test) == test["label"].to_numpy()) > 0.9


@pytest.mark.parametrize(
    "settings",
    [{"late_fusion": ("emobase", "emobase")}, {"feature_set": "emobase", "late_fusion": ("emobase",)}],
)
def test_a_feature_set_listed_twice_is_refused(settings: dict) -> None:
    with pytest.raises(ValidationError, match="list each set once"):
        AcousticConfig(**settings)


def test_views_name_the_extracted_sets_they_read() -> None:
    config = AcousticConfig(late_fusion=("emobase", "compare"))

    assert config.extracted_sets == ("egemaps", "prosody", "emobase", "compare")
    assert AcousticConfig(feature_set="prosody", late_fusion=()).extracted_sets == ("prosody",)
