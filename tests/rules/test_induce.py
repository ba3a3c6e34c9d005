from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vietser.decision import ClipEvidence
from vietser.errors import ConfigError, ManifestError
from vietser.rules.engine import evaluate_rules
from vietser.rules.induce import induce_rules
from vietser.rules.rulebook import Rule, load_rulebook, save_rulebook

PITCH = "prosody.f0_mean_st"
LOUDNESS = "egemaps.loudness_sma3_amean"
RATE = "prosody.speech_rate"
NOISE = "prosody.jitter_local"


def planted_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """panic iff z pitch > 1.0; otherwise angry iff z loudness > 0.5; else calm."""
    rng = np.random.default_rng(seed)
    z = {column: rng.normal(size=n) for column in (PITCH, LOUDNESS, RATE, NOISE)}
    label = np.where(z[PITCH] > 1.0, "panic", np.where(z[LOUDNESS] > 0.5, "angry", "calm"))
    frame = pd.DataFrame({f"z.{column}": values for column, values in z.items()})
    frame.insert(0, "label", label)
    frame.insert(0, "clip_id", [f"clip{i}.wav" for i in range(n)])
    return frame


def _with_annotators(frame: pd.DataFrame, disputed: np.ndarray) -> pd.DataFrame:
    """Three annotators agree with `label`, except the third flips the disputed clips."""
    flipped = {"calm": "angry", "angry": "panic", "panic": "calm"}
    annotated = frame.copy()
    annotated["annotator_a"] = frame["label"]
    annotated["annotator_b"] = frame["label"]
    annotated["annotator_c"] = [
        flipped[x] if d else x for x, d in zip(frame["label"], disputed, strict=True)
    ]
    return annotated


def _rules_for(rules: list[Rule], cls: str) -> list[Rule]:
    return [rule for rule in rules if rule.supports == cls]


def test_planted_pitch_rule_is_recovered_for_panic() -> None:
    result = induce_rules(planted_frame())

    [panic] = _rules_for(result.rulebook.rules, "panic")
    [condition] = panic.when
    assert (condition.feature, condition.op, condition.scale) == (PITCH, ">", "z")
    assert condition.value == pytest.approx(1.0, abs=0.15)
    assert panic.provenance == "induced"
    assert panic.weight > 0


def test_features_unrelated_to_the_labels_do_not_appear_in_rules() -> None:
    result = induce_rules(planted_frame())

    used = {c.feature for rule in result.rulebook.rules for c in rule.when}
    assert used == {PITCH, LOUDNESS}


def test_induced_rules_fire_in_the_engine_on_clips_of_their_class() -> None:
    frame = planted_frame(seed=1)
    rulebook = induce_rules(frame).rulebook
    [panic] = _rules_for(rulebook.rules, "panic")
    clips = frame[frame["label"] == "panic"].head(20)

    for _, row in clips.iterrows():
        z = {c.removeprefix("z."): float(row[c]) for c in frame.columns if c.startswith("z.")}
        fired = evaluate_rules(rulebook, ClipEvidence(clip_id=row["clip_id"], values={}, z=z))
        assert panic.id in [f.rule_id for f in fired]


def test_induced_rationale_is_bilingual_and_names_the_class() -> None:
    [panic] = _rules_for(induce_rules(planted_frame()).rulebook.rules, "panic")

    assert "panic" in panic.rationale.en
    assert "hoảng loạn" in panic.rationale.vi


def test_induced_rulebook_saves_and_loads_as_an_editable_file(tmp_path: Path) -> None:
    rulebook = induce_rules(planted_frame()).rulebook

    assert load_rulebook(save_rulebook(rulebook, tmp_path / "induced.yaml")) == rulebook


def test_annotator_majority_takes_precedence_over_the_label_column() -> None:
    frame = _with_annotators(planted_frame(), disputed=np.zeros(300, dtype=bool))
    frame["label"] = "calm"

    result = induce_rules(frame)

    [panic] = _rules_for(result.rulebook.rules, "panic")
    assert [c.feature for c in panic.when] == [PITCH]


def test_disputed_clips_weigh_less_in_rule_precision() -> None:
    frame = planted_frame()
    wrong = (frame[f"z.{PITCH}"] > 1.3).to_numpy() & (np.arange(len(frame)) % 3 == 0)
    frame = _with_annotators(frame, disputed=np.zeros(len(frame), dtype=bool))
    # Two of three annotators call these high-pitch clips calm: majority calm, agreement 2/3.
    frame.loc[wrong, ["annotator_a", "annotator_b"]] = "calm"

    result = induce_rules(frame, columns=[PITCH], max_depth=1, min_precision=0.5)

    [panic] = [c for c in result.candidates if c.supports == "panic"]
    [condition] = panic.when
    fires = frame[f"z.{condition.feature}"].map(condition.holds).to_numpy()
    right, disputed = (fires & ~wrong).sum(), (fires & wrong).sum()
    assert disputed > 0
    assert panic.precision == pytest.approx(right / (right + 2 / 3 * disputed))
    assert panic.precision > right / fires.sum()


def test_missing_feature_values_do_not_stop_induction() -> None:
    frame = planted_frame()
    frame.loc[::7, f"z.{LOUDNESS}"] = np.nan

    [panic] = _rules_for(induce_rules(frame).rulebook.rules, "panic")

    assert [c.feature for c in panic.when] == [PITCH]


def test_raw_column_without_z_twin_gives_a_raw_scale_rule() -> None:
    frame = planted_frame()
    frame["prosody.f0_mean_hz"] = 200.0 + 30.0 * frame[f"z.{PITCH}"]

    result = induce_rules(frame, columns=["prosody.f0_mean_hz", LOUDNESS])

    [panic] = _rules_for(result.rulebook.rules, "panic")
    [condition] = panic.when
    assert (condition.feature, condition.scale) == ("prosody.f0_mean_hz", "raw")
    assert condition.value == pytest.approx(230.0, abs=5.0)


def test_disagreement_cues_rank_the_planted_feature_first() -> None:
    frame = planted_frame()
    frame = _with_annotators(frame, disputed=(frame[f"z.{RATE}"] > 0.8).to_numpy())

    cues = induce_rules(frame).disagreement_cues

    assert cues[0].feature == RATE
    assert cues[0].effect_size > 1.0
    assert abs(cues[1].effect_size) < 0.5


def test_no_disagreement_cues_without_annotators() -> None:
    result = induce_rules(planted_frame())

    assert result.disagreement_cues == []
    assert "No cues" in result.report


def test_report_lists_kept_rules_with_their_precision() -> None:
    result = induce_rules(planted_frame())

    for rule in result.rulebook.rules:
        assert f"| {rule.id} | {rule.supports} |" in result.report


def test_frame_without_feature_columns_is_rejected() -> None:
    with pytest.raises(ManifestError, match=r"no z\. feature columns"):
        induce_rules(planted_frame()[["clip_id", "label"]])


def test_unknown_labels_are_rejected() -> None:
    frame = planted_frame()
    frame.loc[0, "label"] = "sad"

    with pytest.raises(ManifestError, match="unknown labels \\['sad'\\]"):
        induce_rules(frame)


@pytest.mark.parametrize(
    "settings", [{"max_depth": 0}, {"min_samples_leaf": 0}, {"min_precision": 1.5}]
)
def test_invalid_settings_are_rejected(settings: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        induce_rules(planted_frame(), **settings)


def test_rules_are_induced_from_interpretable_sets_only() -> None:
    frame = planted_frame()
    # a wide-set column that separates the classes perfectly must still not become a rule
    frame["z.emobase.mfcc_sma[1]_amean"] = frame["label"].map({"calm": 0.0, "angry": 5.0, "panic": 10.0})
    result = induce_rules(frame)
    assert result.rulebook.rules
    assert not any(c.feature.startswith("emobase.") for rule in result.rulebook.rules for c in rule.when)


def test_phrases_that_mark_a_class_become_one_transcript_rule_that_fires_in_the_engine() -> None:
    frame = planted_frame()
    said = {"calm": "Tôi muốn hỏi hóa đơn.", "angry": "Tôi muốn khiếu nại!", "panic": "Cứu với, cháy rồi!"}
    # Half the clips say something neutral; the words of the others follow the label.
    frame["transcript"] = [
        "Alô, anh nghe không?" if i % 2 else said[label] for i, label in enumerate(frame["label"])
    ]
    frame["z.prosody.f0_mean_st"] = 0.0  # the voice no longer tells panic apart
    rules = induce_rules(frame).rulebook.rules

    [heard] = [rule for rule in _rules_for(rules, "panic") if rule.when[0].on_transcript]
    assert heard.id == "induced-panic-transcript-words"
    assert set(heard.when[0].phrases or []) <= {"cứu với", "cháy rồi", "cứu", "với", "cháy"}
    evidence = ClipEvidence(clip_id="c", values={}, z={})
    fired_on = {
        text: heard in [f.rule for f in evaluate_rules(induce_rules(frame).rulebook, evidence, text)]
        for text in ("cuu voi, chay roi!", "Alô?")
    }
    assert fired_on == {"cuu voi, chay roi!": True, "Alô?": False}
