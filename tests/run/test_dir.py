"""The run directory: paths, the refit's place, and typed reads and writes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vietser.decision import Decision, Route
from vietser.errors import ConfigError
from vietser.evidence import ClassProfiles
from vietser.run.dir import DECISIONS_FILE, FINAL_MODEL_DIR, PROFILES_FILE, ROUTER_FILE, RunDir


def decision(clip_id: str) -> Decision:
    probabilities = {"calm": 0.7, "angry": 0.2, "panic": 0.1}
    return Decision(
        clip_id=clip_id,
        label="calm",
        probabilities=probabilities,
        acoustic_label="calm",
        confidence=0.7,
        route=Route.CONFIDENT,
        reasoner="acoustic",
    )


def test_decisions_written_are_read_back_in_order(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.write_decisions([decision("b"), decision("a")])
    assert [d.clip_id for d in run.read_decisions()] == ["b", "a"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_line_that_is_not_a_decision_is_named_by_its_number(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.write_decisions([decision("a")])
    with (tmp_path / DECISIONS_FILE).open("a") as out:
        out.write("\n" + '{"clip_id": "x"}\n')
    with pytest.raises(ConfigError, match="line 3: not a Decision"):
        run.read_decisions()


def test_a_missing_file_is_named_with_the_command_that_makes_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"missing {ROUTER_FILE}, {PROFILES_FILE}.*vietser train"):
        RunDir(tmp_path).require(ROUTER_FILE, PROFILES_FILE)


def test_the_final_model_is_the_refit_only_once_the_refit_has_its_profiles(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    (tmp_path / FINAL_MODEL_DIR).mkdir()
    assert run.final_model == run
    profiles = ClassProfiles(columns=["f0"], mean={"calm": {"f0": 0.1}}, std={"calm": {"f0": 1.0}}, count={"calm": 3}, corpus_mean={"f0": 120.0})
    RunDir(tmp_path / FINAL_MODEL_DIR).write_profiles(profiles)
    assert run.final_model.root == tmp_path / FINAL_MODEL_DIR
    assert run.final_model.read_profiles() == profiles


def test_the_run_manifest_keeps_the_manifest_and_annotator_columns_only(tmp_path: Path) -> None:
    features = pd.DataFrame(
        {"path": ["/a.wav"], "label": ["calm"], "speaker": ["s1"], "split": ["train"], "annotator_x": ["angry"],
         "z.f0": [0.1]}
    )
    written = pd.read_csv(RunDir(tmp_path).write_manifest(features))
    assert list(written.columns) == ["path", "label", "speaker", "split", "annotator_x"]


def test_the_summary_is_indented_json_ending_in_a_newline(tmp_path: Path) -> None:
    path = RunDir(tmp_path).write_summary({"reasoner": "rules", "gain": "±"})
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert json.loads(path.read_text(encoding="utf-8"))["gain"] == "±"
