"""train / evaluate / run / predict / demo through the CLI runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

import pyarrow.parquet as pq
from typer.testing import CliRunner

from vietser.cli import app

runner = CliRunner()


def _write_small_config(tmp_path: Path) -> Path:
    config = tmp_path / "vietser.toml"
    config.write_text("n_bootstrap = 200\n[acoustic]\ncv_folds = 2\n", encoding="utf-8")
    return config


def _unsplit_manifest_with_own_labels(small_demo: Path, tmp_path: Path) -> Path:
    """The small demo's manifest as a user's own data: no split column, 'calm' spelt 'relaxed'."""
    frame = pd.read_csv(small_demo).drop(columns="split")
    frame["path"] = [str(small_demo.parent / path) for path in frame["path"]]
    frame["label"] = frame["label"].replace({"calm": "relaxed"})
    path = tmp_path / "own.csv"
    frame.to_csv(path, index=False)
    return path


def test_run_on_a_manifest_without_split_writes_decisions_report_and_prints_systems(small_demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    manifest = _unsplit_manifest_with_own_labels(small_demo, tmp_path)
    config = str(_write_small_config(tmp_path))

    result = runner.invoke(app, ["run", str(manifest), "-o", str(out), "-c", config, "--label-map", "relaxed=calm"])

    assert result.exit_code == 0, result.output
    assert "no split column" in result.output
    assert "acoustic only" in result.output and "rules only" in result.output
    assert "delegated" in result.output and "fallbacks" in result.output
    assert "✓ features (" in result.output and "✓ training" in result.output and "✓ evaluation" in result.output
    assert (out / "decisions.jsonl").is_file() and (out / "report.html").is_file()
    decisions = pd.read_csv(out / "decisions.csv")
    assert len(decisions) == len((out / "decisions.jsonl").read_text().splitlines())
    features = pd.read_parquet(out / "features.parquet", columns=["speaker", "split"])
    copies = features[features["speaker"].str.endswith("@telephone")]
    levels = features[features["speaker"].str.endswith("@level")]
    # every training clip twice more: by phone, and at another level for the companion
    assert len(copies) == len(levels) == (features["split"] == "train").sum() / 3
    assert set(copies["split"]) == set(levels["split"]) == {"train"}
    assert features.groupby("speaker")["split"].nunique().max() == 1
    assert set(features["split"]) == {"train", "dev", "test"}


def test_train_from_a_manifest_takes_a_label_map_and_split_fractions(small_demo: Path, tmp_path: Path) -> None:
    manifest = _unsplit_manifest_with_own_labels(small_demo, tmp_path)
    out = str(tmp_path / "run")

    unmapped = runner.invoke(app, ["train", str(manifest), "-o", out])
    no_training = runner.invoke(
        app, ["train", str(manifest), "-o", out, "--label-map", "relaxed=calm", "--dev-fraction", "0.5", "--test-fraction", "0.5"]
    )

    assert unmapped.exit_code == 2 and "unknown label" in unmapped.output and "relaxed" in unmapped.output
    assert no_training.exit_code == 2 and "leave a share for training" in " ".join(no_training.output.split())


def test_train_then_evaluate_with_another_model(small_demo_features, tmp_path: Path) -> None:  # noqa: ANN001
    features = tmp_path / "features.parquet"
    small_demo_features.to_parquet(features)
    out = tmp_path / "run"
    config = str(_write_small_config(tmp_path))

    trained = runner.invoke(app, ["train", str(features), "-o", str(out), "--model", "svm-rbf", "-c", config])
    evaluated = runner.invoke(app, ["evaluate", str(out)])

    assert trained.exit_code == 0, trained.output
    assert "svm-rbf" in trained.output and "ECE" in trained.output
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((out / "model.json").read_text())["config"]["model"] == "svm-rbf"


def test_late_fusion_none_trains_one_model_on_the_named_set(small_demo_features, tmp_path: Path) -> None:  # noqa: ANN001
    features = tmp_path / "features.parquet"
    small_demo_features.to_parquet(features)
    out = tmp_path / "run"
    config = str(_write_small_config(tmp_path))

    result = runner.invoke(app, ["train", str(features), "-o", str(out), "--late-fusion", "none", "-c", config])

    assert result.exit_code == 0, result.output
    card = json.loads((out / "model.json").read_text())
    assert card["config"]["late_fusion"] == []
    assert card["feature_columns"] and not any("emobase." in c for c in card["feature_columns"])


def test_run_extracts_the_sets_its_configuration_needs(small_demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", str(small_demo), "-o", str(out), "-c", str(_write_small_config(tmp_path)), "--late-fusion", "none"]

    result = runner.invoke(app, [*args, "--feature-set", "prosody"])

    assert result.exit_code == 0, result.output
    columns = pq.read_schema(out / "extracted-features.parquet").names
    assert any(c.startswith("egemaps.") for c in columns)  # evidence and rules read it
    assert not any(c.startswith(("emobase.", "compare.")) for c in columns)


def test_unknown_model_kind_is_a_clear_error(small_demo_features, tmp_path: Path) -> None:  # noqa: ANN001
    features = tmp_path / "features.parquet"
    small_demo_features.to_parquet(features)

    result = runner.invoke(app, ["train", str(features), "-o", str(tmp_path / "run"), "--model", "bert"])

    assert result.exit_code == 2
    assert "acoustic.model" in result.output


def test_evaluate_on_a_missing_run_directory_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(tmp_path / "nothing")])

    assert result.exit_code == 2
    assert "vietser train" in result.output


def test_predict_writes_json_lines(trained_run: Path, small_demo: Path, tmp_path: Path) -> None:
    audio_dir = small_demo.parent / "audio"
    out = tmp_path / "predictions.jsonl"

    result = runner.invoke(app, ["predict", str(audio_dir), "--run", str(trained_run), "-o", str(out)])

    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == len(list(audio_dir.rglob("*.wav")))
    assert {"label", "probabilities", "route", "evidence", "rationale", "reasoner"} <= set(json.loads(lines[0]))


def test_demo_runs_end_to_end_on_a_small_corpus(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--out", str(tmp_path / "demo"), "--speakers", "6", "--clips-per-speaker", "9", "--jobs", "1"]
    )

    assert result.exit_code == 0, result.output
    assert "pipeline" in result.output and "report" in result.output
    assert (tmp_path / "demo" / "run" / "report.html").is_file()


def test_evaluate_on_scores_a_trained_run_on_another_corpus(trained_run: Path, small_demo: Path, tmp_path: Path) -> None:
    run = shutil.copytree(trained_run, tmp_path / "run")
    manifest = pd.read_csv(small_demo).drop(columns=["split"]).head(24)
    manifest["path"] = [str((small_demo.parent / p).resolve()) for p in manifest["path"]]
    manifest["corpus"] = ["one" if i % 2 else "two" for i in range(len(manifest))]
    other = tmp_path / "other-corpus.csv"
    manifest.to_csv(other, index=False)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}

    result = CliRunner().invoke(app, ["evaluate", str(run), "--on", str(other)])

    assert result.exit_code == 0, result.output
    out = run / "transfer" / "other-corpus"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["clips"] == 24 and summary["skipped"] == 0
    assert set(summary["test"]) == {"acoustic only", "pipeline", "pipeline_vs_acoustic"}
    assert 0.0 <= summary["test"]["pipeline"]["macro_f1"] <= 1.0
    assert set(summary["per_corpus"]) == {"one", "two"}
    lines = (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 24 and all(json.loads(line)["true_label"] for line in lines)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_predict_as_csv_gives_the_deciding_systems_probabilities_beside_the_acoustic_ones(
    trained_run: Path, small_demo: Path, tmp_path: Path
) -> None:
    audio_dir = small_demo.parent / "audio"
    out = tmp_path / "predictions.csv"

    result = runner.invoke(app, ["predict", str(audio_dir), "--run", str(trained_run), "-o", str(out), "--format", "csv"])

    assert result.exit_code == 0, result.output
    assert "delegated" in result.output and "fallbacks" in result.output
    table = pd.read_csv(out)
    assert len(table) == len(list(audio_dir.rglob("*.wav")))
    decided = table[[f"p_{name}" for name in ("calm", "angry", "panic")]]
    acoustic = table[[f"acoustic_p_{name}" for name in ("calm", "angry", "panic")]]
    assert (decided.sum(axis=1).round(6) == 1).all() and (acoustic.sum(axis=1).round(6) == 1).all()
    assert (decided.idxmax(axis=1).str.removeprefix("p_") == table["label"]).all()
    confident = table["route"] == "confident"
    assert (decided[confident].to_numpy() == acoustic[confident].to_numpy()).all()
