"""rules / analyse / refine / review commands through the CLI runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from vietser.cli import app
from vietser.rules.rulebook import load_rulebook

runner = CliRunner()


def test_validate_names_the_rule_and_field_of_an_invalid_rulebook(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "name: mine\nversion: 1\nrules:\n- id: too-loud\n  when: [{feature: prosody.intensity_mean_db, op: '~', value: 1}]\n"
        "  supports: angry\n  weight: 1\n  rationale: {en: loud, vi: to}\n  provenance: person\n",
        encoding="utf-8",
    )

    result = runner.invoke(app, ["rules", "validate", str(path)])

    assert result.exit_code == 2
    assert "too-loud" in result.output and "op" in result.output


def test_induce_writes_a_valid_rulebook_from_the_train_split(small_demo_features: pd.DataFrame, tmp_path: Path) -> None:
    features = tmp_path / "features.parquet"
    small_demo_features.to_parquet(features)
    out = tmp_path / "induced.yaml"

    result = runner.invoke(app, ["rules", "induce", str(features), "-o", str(out), "--min-precision", "0.5"])

    assert result.exit_code == 0, result.output
    rulebook = load_rulebook(out)
    assert rulebook.rules and all(rule.provenance == "induced" for rule in rulebook.rules)


def test_analyse_refine_history_and_rollback(trained_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)

    start = load_rulebook(run_dir / "rulebook.yaml").version
    analysed = runner.invoke(app, ["analyse", str(run_dir)])
    refined = runner.invoke(app, ["refine", str(run_dir), "--rounds", "1"])
    history = runner.invoke(app, ["rules", "history", str(run_dir)])
    rolled = runner.invoke(app, ["rules", "rollback", str(run_dir), str(start)])

    assert analysed.exit_code == 0, analysed.output
    assert (run_dir / "analysis.md").is_file() and "Dev errors by confusion" in analysed.output
    assert refined.exit_code == 0, refined.output
    assert "refinement on dev" in refined.output
    assert any("before refinement" in name for name in json.loads((run_dir / "summary.json").read_text())["test"])
    assert "Rulebook refinement" in (run_dir / "report.md").read_text(encoding="utf-8")
    assert history.exit_code == 0 and f"v{start}" in history.output
    assert rolled.exit_code == 0, rolled.output
    assert load_rulebook(run_dir / "rulebook.yaml").rules == load_rulebook(run_dir / "rulebooks" / f"v{start:04d}.yaml").rules


def test_review_refuses_a_public_address_without_a_token(trained_run: Path) -> None:
    result = runner.invoke(app, ["review", str(trained_run), "--host", "0.0.0.0"], env={"VIETSER_REVIEW_TOKEN": ""})

    assert result.exit_code == 2
    assert "token" in result.output.lower()
