"""`vietser adapt`: a run adapted to unlabelled target audio and a few labelled target clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vietser.acoustic import load_model
from vietser.run.adapt import DEFAULT_WEIGHT, adapt_run
from vietser.cli import app
from vietser.errors import ConfigError
from vietser.run.predict import load_predictor

runner = CliRunner()


def _labelled_target(small_demo: Path, tmp_path: Path, n: int = 12) -> Path:
    manifest = pd.read_csv(small_demo)
    test = manifest[manifest["split"] == "test"].head(n).drop(columns=["split"])
    test["path"] = [str((small_demo.parent / p).resolve()) for p in test["path"]]
    path = tmp_path / "labels.csv"
    test.to_csv(path, index=False)
    return path


def test_adapt_refits_on_labelled_target_clips_and_reads_single_clips_against_the_target(
    trained_run: Path, small_demo: Path, tmp_path: Path
) -> None:
    labels = _labelled_target(small_demo, tmp_path)
    audio = tmp_path / "audio.csv"
    pd.read_csv(labels)[["path"]].to_csv(audio, index=False)
    before = {p.name: p.read_bytes() for p in trained_run.rglob("*") if p.is_file()}
    adapted = tmp_path / "adapted"

    result = runner.invoke(
        app, ["adapt", str(trained_run), "-o", str(adapted), "--labels", str(labels), "--audio", str(audio)]
    )

    assert result.exit_code == 0, result.output
    record = json.loads((adapted / "adaptation.json").read_text(encoding="utf-8"))
    assert record["labelled_clips"] == 12 and record["reference_clips"] == 12 and record["weight"] == DEFAULT_WEIGHT
    source_model, adapted_model = load_model(trained_run / "final-model"), load_model(adapted / "final-model")
    assert adapted_model.train_data_sha256_ != source_model.train_data_sha256_
    assert adapted_model.corpus_stats != source_model.corpus_stats
    assert source_model.reference is None and adapted_model.reference is not None  # single clips read as calm-anchored
    assert {p.name: p.read_bytes() for p in trained_run.rglob("*") if p.is_file()} == before
    wav = pd.read_csv(labels)["path"].iloc[0]
    decision = load_predictor(adapted)(Path(wav))  # checksums hold: the adapted run loads
    assert np.isclose(sum(decision.probabilities.values()), 1.0)


def test_adapt_needs_something_to_adapt_to_and_a_new_folder(trained_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs unlabelled target audio"):
        adapt_run(trained_run, tmp_path / "new")
    with pytest.raises(ConfigError, match="exists"):
        adapt_run(trained_run, trained_run, labels=pd.DataFrame())


def test_adapt_help_states_the_default_weight() -> None:
    result = runner.invoke(app, ["adapt", "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert f"(default {DEFAULT_WEIGHT})" in result.output
