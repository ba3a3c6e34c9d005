from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from vietser.cli.console import console
from vietser.cli.demo_command import _transcripts, pipeline_verdict, print_delegated, refinement_summary, shown_clips
from vietser.decision import Decision, Route
from vietser.refine.edits import RemoveRule, SetWeight
from vietser.refine.loop import RejectedEdit, RoundResult


def _decision(clip_id: str, truth: str, acoustic: str, label: str, route: Route, rules: list[str] | None = None) -> Decision:
    acoustic_probabilities = {c: (0.5 if c == acoustic else 0.25) for c in ("calm", "angry", "panic")}
    reasoned = {c: (0.7 if c == label else 0.15) for c in ("calm", "angry", "panic")}
    return Decision(
        clip_id=clip_id,
        true_label=truth,
        label=label,
        probabilities=acoustic_probabilities if label == acoustic else reasoned,
        acoustic_probabilities=acoustic_probabilities,
        acoustic_label=acoustic,
        confidence=0.8,
        route=route,
        reasoner="rules" if route == Route.DELEGATED else "acoustic",
        rules_applied=rules or [],
    )


PIPELINE = [
    _decision("a", "calm", "calm", "calm", Route.CONFIDENT),
    _decision("b", "panic", "calm", "calm", Route.DELEGATED),
    _decision("c", "panic", "calm", "panic", Route.DELEGATED, ["panic-cry-for-help"]),
    _decision("d", "angry", "angry", "angry", Route.CONFIDENT),
]
ACOUSTIC = [d.model_copy(update={"label": d.acoustic_label, "route": Route.CONFIDENT}) for d in PIPELINE]


def test_shown_clips_are_the_delegated_ones_whose_label_the_reasoner_changed_first() -> None:
    assert [d.clip_id for d in shown_clips(PIPELINE)] == ["c", "b"]
    assert [d.clip_id for d in shown_clips(PIPELINE, limit=1)] == ["c"]


def test_no_verdict_line_when_the_pipeline_beats_acoustic_only() -> None:
    assert pipeline_verdict(PIPELINE, ACOUSTIC) is None


def test_the_verdict_line_gives_the_reason_when_the_pipeline_does_not_beat_acoustic_only() -> None:
    worse = [d.model_copy(update={"label": "angry"}) if d.clip_id == "c" else d for d in PIPELINE]
    line = pipeline_verdict(worse, ACOUSTIC)
    assert line is not None and "does not beat acoustic-only" in line
    assert "of the 2 delegated clips the reasoner got 0 right, the acoustic model 0" in line
    assert "delegated no test clip" in (pipeline_verdict(ACOUSTIC, ACOUSTIC) or "")


def test_the_table_shows_what_was_said_the_rule_and_the_truth_and_how_to_use_an_llm(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 160)
    print_delegated({"pipeline": PIPELINE, "acoustic only": ACOUSTIC}, {"c": "Cứu với, cháy rồi!"}, "rules")
    out = capsys.readouterr().out
    assert "delegated test clips (2 of 4), decided by the rules reasoner" in out
    row = next(line for line in out.splitlines() if "Cứu với" in line)
    assert "calm 0.50" in row and "panic 0.70" in row and "panic-cry-for-help" in row and "panic ✓" in row
    assert "--llm local --llm-gguf PATH" in out and "--llm-base-url" in out


def test_the_refinement_line_counts_the_candidate_edits_tried_and_why_they_were_not_kept() -> None:
    edits = [RemoveRule(rule_id="r1", reason="low precision", source="search"),
             SetWeight(rule_id="r2", weight=1.5, reason="fires on errors", source="search")]
    rejected = [RejectedEdit(edit=e, reason="changes no dev prediction", delta=0.0) for e in edits]
    scores = {"dev_before": 0.7, "dev_after": 0.7, "accuracy_before": 0.7, "accuracy_after": 0.7, "delegation_rate": 0.1}
    result = SimpleNamespace(rounds=[RoundResult(round=1, version_before=2, version_after=2, candidates_tried=2, accepted=[], rejected=rejected, **scores)])

    assert refinement_summary(result) == "refinement tried 2 candidate edits on dev and kept 0 (not kept: 2 changes no dev prediction)"


def test_a_trained_runs_transcripts_are_read_by_clip(trained_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(trained_run, tmp_path / "run")
    transcripts = _transcripts(run)
    assert transcripts and all(isinstance(text, str) and text for text in transcripts.values())
