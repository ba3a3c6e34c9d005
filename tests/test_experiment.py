"""Train + evaluate a run on a small generated corpus: decisions, baselines, report, honest splits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import small_run_config
from vietser.acoustic.inference import feature_matrix
from vietser.acoustic.train import train_data_hash
from vietser.errors import ConfigError
from vietser.evaluate import compute_metrics
from vietser.run.evaluate import evaluate_run
from vietser.run.systems import PIPELINE
from vietser.run.train import train_run
from vietser.features.extract import read_features, write_features
from vietser.llm.client import LLMConfig
from vietser.testing.scripted_server import ScriptedOpenAIServer, http_error
from vietser.routing import BestAccuracy, DelegationBudget, TargetRisk, load_router
from vietser.run.dir import DECISIONS_FILE, FEATURES_FILE, read_decisions


def test_decisions_cover_dev_and_test_clips_once(trained_run: Path, small_demo_features: pd.DataFrame) -> None:
    decisions = read_decisions(trained_run / DECISIONS_FILE)

    expected = small_demo_features[small_demo_features["split"].isin(["dev", "test"])]["clip_id"]
    assert sorted(d.clip_id for d in decisions) == sorted(expected)
    assert {d.split for d in decisions} == {"dev", "test"}
    assert all(abs(sum(d.probabilities.values()) - 1) < 1e-6 for d in decisions)
    assert all(d.reasoner in ("acoustic", "rules") for d in decisions)


def test_report_holds_the_pipeline_scores_of_the_summary(trained_run: Path) -> None:
    summary = json.loads((trained_run / "summary.json").read_text())
    decisions = [d for d in read_decisions(trained_run / DECISIONS_FILE) if d.split == "test"]
    macro_f1 = compute_metrics([d.true_label for d in decisions], [d.label for d in decisions]).macro_f1

    assert summary["test"][PIPELINE]["macro_f1"] == pytest.approx(macro_f1)
    assert set(summary["test"]) >= {"acoustic only", "rules only", PIPELINE, "oracle routing"}
    oracle, acoustic = summary["test"]["oracle routing"], summary["test"]["acoustic only"]
    assert oracle["accuracy"] >= acoustic["accuracy"]
    for report in ("report.md", "report.html"):
        assert f"{macro_f1:.3f}" in (trained_run / report).read_text(encoding="utf-8")


def test_threshold_does_not_depend_on_test_rows(trained_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    features = read_features(run_dir / FEATURES_FILE)
    test_rows = features["split"] == "test"
    feature_columns = [c for c in features.columns if c.startswith(("z.", "egemaps.", "prosody."))]
    features.loc[test_rows, feature_columns] = np.random.default_rng(0).normal(0, 5, (test_rows.sum(), len(feature_columns)))
    write_features(features, run_dir / FEATURES_FILE)

    evaluate_run(run_dir)

    assert load_router(run_dir) == load_router(trained_run)


def test_run_without_dev_split_is_refused_with_a_fix(small_demo_features: pd.DataFrame, tmp_path: Path) -> None:
    no_dev = small_demo_features[small_demo_features["split"] != "dev"]

    with pytest.raises(ConfigError, match="no dev rows"):
        train_run(no_dev, small_run_config(), tmp_path / "run")


def _llm_run(small_demo_features: pd.DataFrame, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    # A strict risk target delegates many clips, so the reasoner is exercised.
    train_run(small_demo_features, small_run_config(routing=TargetRisk(max_risk=0.01)), run_dir)
    return run_dir


def test_llm_reasoner_decides_delegated_clips_and_is_named(small_demo_features: pd.DataFrame, tmp_path: Path) -> None:
    run_dir = _llm_run(small_demo_features, tmp_path)
    with ScriptedOpenAIServer() as server:
        result = evaluate_run(run_dir, llm=LLMConfig(base_url=server.base_url, model="scripted-model", timeout_s=5))

    delegated = [d for d in result.decisions if d.route.value == "delegated"]
    assert delegated
    assert {d.reasoner for d in delegated} == {"llm"}
    assert "LLM only" in result.summary["test"]
    assert result.summary["llm_usage"]["requests"] > 0


def test_failing_llm_falls_back_to_acoustic_flagged_and_loses_no_clip(
    small_demo_features: pd.DataFrame, tmp_path: Path
) -> None:
    run_dir = _llm_run(small_demo_features, tmp_path)
    with ScriptedOpenAIServer(script=[http_error(500)] * 1000) as server:
        config = LLMConfig(base_url=server.base_url, model="scripted-model", max_retries=0, timeout_s=5)
        result = evaluate_run(run_dir, llm=config)

    delegated = [d for d in result.decisions if d.route.value == "delegated"]
    assert delegated
    assert all(d.fallback and d.label == d.acoustic_label and "500" in (d.fallback_reason or "") for d in delegated)
    expected = small_demo_features["split"].isin(["dev", "test"]).sum()
    assert len(result.decisions) == expected


def test_refit_on_dev_trains_the_final_model_without_test_rows(small_demo_features: pd.DataFrame, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train_run(small_demo_features, small_run_config(refit_on_dev=True), run_dir)

    evaluate_run(run_dir)

    card = json.loads((run_dir / "final-model" / "model.json").read_text())
    columns = card["feature_columns"]
    train_and_dev = small_demo_features[small_demo_features["split"].isin(["train", "dev"])]
    X = feature_matrix(train_and_dev, columns)
    y = train_and_dev["label"].astype(str).to_numpy(dtype=object)
    assert card["train_data_sha256"] == train_data_hash(X, y, columns)


def test_a_run_on_two_corpora_scores_each_corpus(small_demo_features: pd.DataFrame, tmp_path: Path) -> None:
    # Training speakers by corpus; the one test speaker's clips alternate, so the test split holds both corpora.
    speakers = sorted(small_demo_features["speaker"].unique())
    by_speaker = small_demo_features["speaker"].map({s: ("one", "two")[i % 2] for i, s in enumerate(speakers)})
    alternating = pd.Series(np.where(np.arange(len(small_demo_features)) % 2, "one", "two"), small_demo_features.index)
    is_test = small_demo_features["split"] == "test"
    pooled = small_demo_features.assign(corpus=by_speaker.mask(is_test, alternating))
    run_dir = tmp_path / "run"
    train_run(pooled, small_run_config(), run_dir)

    result = evaluate_run(run_dir)

    corpus_of = pooled.set_index("clip_id")["corpus"]
    for name in ("one", "two"):
        group = [d for d in result.systems[PIPELINE] if corpus_of[d.clip_id] == name]
        expected = compute_metrics([d.true_label for d in group], [d.label for d in group]).macro_f1
        assert result.summary["per_corpus"][name] == pytest.approx(expected)
    assert "Macro-F1 per corpus: one" in (run_dir / "report.md").read_text(encoding="utf-8")


def _llm_evaluation(run_dir: Path, **settings: object) -> tuple[object, list[dict]]:
    with ScriptedOpenAIServer() as server:
        config = LLMConfig(base_url=server.base_url, model="scripted-model", timeout_s=5, use_cache=False, **settings)
        return evaluate_run(run_dir, llm=config), server.requests


def _said_to_be_unsure(requests: list[dict]) -> int:
    return sum("sent to you because the acoustic model was unsure" in r["messages"][-1]["content"] for r in requests)


def _delegated_and_sampled(decisions: list, size: int) -> int:
    """Calls for a split: the delegated clips for the pipeline, the sample for the baseline."""
    return sum(d.route.value == "delegated" for d in decisions) + min(size, len(decisions))


def test_sampled_llm_baseline_sends_only_the_sample_and_the_delegated_clips(
    small_demo_features: pd.DataFrame, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    train_run(small_demo_features, small_run_config(routing=DelegationBudget(max_delegation=0.25)), run_dir)
    result, requests = _llm_evaluation(run_dir, baseline_clips=3)

    dev = [d for d in result.decisions if d.split == "dev"]
    test = result.systems[PIPELINE]
    delegated = sum(d.route.value == "delegated" for d in result.decisions)
    assert len(requests) == _delegated_and_sampled(dev, 3) + _delegated_and_sampled(test, 3) < len(result.decisions)
    assert _said_to_be_unsure(requests) == delegated
    name = f"LLM only (sampled, n=3 of {len(test)})"
    assert len(result.systems[name]) == 3 and name in result.summary["test"]
    assert "LLM only" not in result.summary["test"]
    assert f"oracle routing (sampled, n=3 of {len(test)})" in result.summary["test"]
    assert name in (run_dir / "report.md").read_text(encoding="utf-8")


def test_llm_baseline_zero_skips_the_llm_only_baseline(small_demo_features: pd.DataFrame, tmp_path: Path) -> None:
    run_dir = _llm_run(small_demo_features, tmp_path)
    result, requests = _llm_evaluation(run_dir, baseline_clips=0)

    delegated = [d for d in result.decisions if d.route.value == "delegated"]
    assert len(requests) == _said_to_be_unsure(requests) == len(delegated) > 0
    assert not any(name.startswith(("LLM only", "oracle routing")) for name in result.summary["test"])
    assert {d.reasoner for d in delegated} == {"llm"}


def test_llm_baseline_zero_with_a_policy_that_needs_the_llm_accuracy_says_what_to_do(
    small_demo_features: pd.DataFrame, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    train_run(small_demo_features, small_run_config(routing=BestAccuracy()), run_dir)

    with pytest.raises(ConfigError, match="--llm-baseline N with N > 0"):
        _llm_evaluation(run_dir, baseline_clips=0)
