"""Manifest reading, validation, writing, label mapping and speaker splits."""

from __future__ import annotations

import csv
import json
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ToneWriter
from vietser.data.label_map import parse_label_map
from vietser.data.manifest import load_manifest, write_manifest
from vietser.data.splits import assign_speaker_splits
from vietser.errors import ConfigError, ManifestError

HEADER = ["path", "label", "speaker", "split"]


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def row(path: str, label: str = "calm", speaker: str = "s1", split: str = "train", **extra: str) -> dict[str, str]:
    return {"path": path, "label": label, "speaker": speaker, "split": split, **extra}


@pytest.fixture
def audio_dir(tmp_path: Path, write_tone: ToneWriter) -> Path:
    """Six short real clips under tmp_path/data/audio."""
    for index in range(6):
        write_tone(f"data/audio/c{index}.wav", duration_s=0.1, seed=index)
    return tmp_path / "data"


@pytest.fixture
def good_rows() -> list[dict[str, str]]:
    return [
        row("audio/c0.wav", "calm", "s1", "train", transcript="xin chào", annotator_a="calm", annotator_b=""),
        row("audio/c1.wav", "angry", "s1", "train", transcript="", annotator_a="angry", annotator_b="angry"),
        row("audio/c2.wav", "panic", "s2", "dev", transcript="cứu", annotator_a="", annotator_b="panic"),
        row("audio/c3.wav", "calm", "s3", "test", transcript="", annotator_a="calm", annotator_b="calm"),
    ]


def error_message(manifest: Path, **kwargs: object) -> str:
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, **kwargs)
    return str(caught.value)


def test_relative_paths_resolve_against_the_manifest_folder(audio_dir: Path, good_rows, monkeypatch) -> None:
    manifest = write_csv(audio_dir / "manifest.csv", good_rows)
    monkeypatch.chdir(audio_dir.parent.parent)
    frame = load_manifest(manifest)
    assert frame.loc[0, "path"] == str(audio_dir / "audio" / "c0.wav")
    assert frame.loc[0, "clip_id"] == "audio/c0.wav"


def test_columns_follow_the_design_order(audio_dir: Path, good_rows) -> None:
    rows = [{**r, "room": "kitchen"} for r in good_rows]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows))
    expected = ["clip_id", "path", "label", "speaker", "split", "transcript", "annotator_a", "annotator_b", "room"]
    assert list(frame.columns) == expected


def test_speaker_ids_stay_text(audio_dir: Path) -> None:
    manifest = write_csv(audio_dir / "manifest.csv", [row("audio/c0.wav", speaker="007")])
    assert load_manifest(manifest).loc[0, "speaker"] == "007"


def test_english_synonyms_map_onto_the_classes(audio_dir: Path) -> None:
    rows = [row(f"audio/c{i}.wav", label) for i, label in enumerate(["Neutral", "ANGER", "fearful", "scared"])]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows))
    assert list(frame["label"]) == ["calm", "angry", "panic", "panic"]


def test_vietnamese_labels_map_onto_the_classes_in_any_unicode_form(audio_dir: Path) -> None:
    decomposed_calm = unicodedata.normalize("NFD", "Bình tĩnh")
    labels = [decomposed_calm, "tức giận", "HOẢNG LOẠN", "hoang loan"]
    rows = [row(f"audio/c{i}.wav", label) for i, label in enumerate(labels)]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows))
    assert list(frame["label"]) == ["calm", "angry", "panic", "panic"]


def test_label_map_extends_the_default_mapping(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", "happy"), row("audio/c1.wav", "neutral")]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows), label_map={"Happy": "bình tĩnh"})
    assert list(frame["label"]) == ["calm", "calm"]


def test_label_mapped_to_none_leaves_its_rows_out(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", "sad"), row("audio/c1.wav", "angry")]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows), label_map=["sad=none"])
    assert list(frame["clip_id"]) == ["audio/c1.wav"]


def test_unknown_labels_are_listed_by_row_with_how_to_map_them(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", "calm"), row("audio/c1.wav", "happy"), row("audio/c2.wav", "sad")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "row 2 ('happy')" in message and "row 3 ('sad')" in message
    assert "label mapping" in message and "row 1 " not in message


def test_long_problem_lists_are_cut_after_ten_entries(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", f"odd{i}") for i in range(13)]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows), check_files=False)
    assert "row 10 ('odd9')" in message and "odd10" not in message
    assert "and 3 more" in message


def test_missing_columns_are_named_with_the_columns_found(audio_dir: Path) -> None:
    manifest = write_csv(audio_dir / "manifest.csv", [{"path": "audio/c0.wav", "emotion": "calm"}])
    message = error_message(manifest)
    assert "label, speaker, split" in message
    assert "found path, emotion" in message


def test_missing_audio_files_are_listed_by_row_and_path(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav"), row("audio/gone.wav")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "row 2" in message and "gone.wav" in message and "not found" in message


def test_missing_files_are_accepted_when_file_check_is_off(audio_dir: Path) -> None:
    manifest = write_csv(audio_dir / "manifest.csv", [row("audio/gone.wav")])
    assert load_manifest(manifest, check_files=False).loc[0, "clip_id"] == "audio/gone.wav"


def test_unknown_split_values_are_reported(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", split="Train"), row("audio/c1.wav", speaker="s2", split="validation")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "row 2 ('validation')" in message and "train, dev, test" in message
    assert "row 1" not in message


def test_duplicate_paths_are_reported_even_when_spelled_differently(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav"), row("./audio/c0.wav"), row("audio/c1.wav")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "duplicate" in message and "row 1" in message and "row 2" in message and "row 3" not in message


def test_a_speaker_in_two_splits_is_reported_by_name(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", speaker="an", split="train"), row("audio/c1.wav", speaker="an", split="test")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "'an' (test, train)" in message


def test_empty_speaker_cells_are_reported(audio_dir: Path) -> None:
    message = error_message(write_csv(audio_dir / "manifest.csv", [row("audio/c0.wav", speaker=" ")]))
    assert "empty speaker in row(s) 1" in message


def test_every_problem_is_reported_at_once(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", "happy"), row("audio/gone.wav", split="holdout")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "unknown label" in message and "unknown split" in message and "not found" in message


def test_a_manifest_without_rows_is_an_error(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,label,speaker,split\n", encoding="utf-8")
    assert "no rows" in error_message(manifest)


def test_a_missing_manifest_file_is_an_error(tmp_path: Path) -> None:
    assert "not found" in error_message(tmp_path / "absent.csv")


def test_unknown_manifest_suffix_is_rejected(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.xlsx"
    manifest.write_text("x", encoding="utf-8")
    assert ".csv or .jsonl" in error_message(manifest)


def test_annotator_votes_are_mapped_and_empty_cells_mean_no_vote(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", annotator_a="Neutral", annotator_b=""), row("audio/c1.wav", annotator_a="tức giận")]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows, header=[*HEADER, "annotator_a", "annotator_b"]))
    assert list(frame["annotator_a"]) == ["calm", "angry"]
    assert frame["annotator_b"].isna().all()


def test_unknown_annotator_votes_name_column_and_row(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", annotator_x="calm"), row("audio/c1.wav", annotator_x="bored")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "annotator_x" in message and "row 2 ('bored')" in message


def test_jsonl_manifest_loads_like_csv(audio_dir: Path, good_rows) -> None:
    csv_frame = load_manifest(write_csv(audio_dir / "manifest.csv", good_rows))
    jsonl = audio_dir / "manifest.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in good_rows), encoding="utf-8")
    pd.testing.assert_frame_equal(load_manifest(jsonl), csv_frame)


def test_jsonl_numbers_rows_by_line_and_names_bad_lines(audio_dir: Path) -> None:
    jsonl = audio_dir / "manifest.jsonl"
    jsonl.write_text(json.dumps(row("audio/c0.wav")) + "\n{not json\n", encoding="utf-8")
    assert "line 2" in error_message(jsonl)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_load_write_load_round_trips(audio_dir: Path, good_rows, suffix: str) -> None:
    first = load_manifest(write_csv(audio_dir / "manifest.csv", good_rows))
    written = write_manifest(first, audio_dir / f"copy{suffix}")
    pd.testing.assert_frame_equal(load_manifest(written), first)


def test_written_paths_are_relative_inside_the_folder_and_absolute_outside(audio_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"")
    frame = pd.DataFrame(
        [row(str(audio_dir / "audio" / "c0.wav")), row(str(outside), speaker="s2", split="test")]
    )
    written = write_manifest(frame, audio_dir / "out.csv")
    paths = pd.read_csv(written, dtype=str)["path"].tolist()
    assert paths == ["audio/c0.wav", outside.as_posix()]


def test_writing_a_frame_without_required_columns_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="speaker, split"):
        write_manifest(pd.DataFrame({"path": ["a.wav"], "label": ["calm"]}), tmp_path / "m.csv")


def test_label_map_pairs_parse_with_drop_words() -> None:
    parsed = parse_label_map(["Happy=calm, sad=none", "surprise="])
    assert parsed == {"happy": "calm", "sad": None, "surprise": None}


def test_label_map_reads_yaml_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text("happy: angry\nboredom: null\n", encoding="utf-8")
    (tmp_path / "map.json").write_text('{"Sợ": "hoảng loạn"}', encoding="utf-8")
    assert parse_label_map(tmp_path / "map.yaml") == {"happy": "angry", "boredom": None}
    assert parse_label_map(str(tmp_path / "map.json")) == {"sợ": "panic"}


def test_label_map_to_an_unknown_class_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'joy'"):
        parse_label_map({"happy": "joy"})


def test_label_map_pair_without_equals_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="source=target"):
        parse_label_map(["happy=calm", "sad"])


def speakers_frame(n_speakers: int, clips_each: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        [row(f"{s}_{c}.wav", speaker=f"spk{s:02d}") for s in range(n_speakers) for c in range(clips_each)]
    )


def test_speaker_splits_never_share_a_speaker() -> None:
    result = assign_speaker_splits(speakers_frame(10))
    assert result.groupby("speaker")["split"].nunique().max() == 1


def test_speaker_splits_follow_the_fractions_in_speakers() -> None:
    result = assign_speaker_splits(speakers_frame(10), dev_fraction=0.2, test_fraction=0.3)
    counts = result.groupby("split")["speaker"].nunique().to_dict()
    assert counts == {"train": 5, "dev": 2, "test": 3}


def test_speaker_splits_are_deterministic_and_ignore_row_order() -> None:
    frame = speakers_frame(10)
    shuffled = frame.sample(frac=1.0, random_state=3)
    first = assign_speaker_splits(frame, seed=7).set_index("path")["split"]
    second = assign_speaker_splits(shuffled, seed=7).set_index("path")["split"]
    pd.testing.assert_series_equal(first, second.loc[first.index])


def test_speaker_splits_change_with_the_seed() -> None:
    frame = speakers_frame(10)
    assert not assign_speaker_splits(frame, seed=0)["split"].equals(assign_speaker_splits(frame, seed=1)["split"])


def test_three_speakers_fill_every_split() -> None:
    result = assign_speaker_splits(speakers_frame(3))
    assert sorted(result["split"].unique()) == ["dev", "test", "train"]


def test_two_speakers_give_one_train_and_one_test_speaker() -> None:
    result = assign_speaker_splits(speakers_frame(2))
    assert sorted(result.groupby("speaker")["split"].first()) == ["test", "train"]


def test_split_fractions_leaving_nothing_for_training_are_rejected() -> None:
    with pytest.raises(ConfigError, match="sum below 1"):
        assign_speaker_splits(speakers_frame(5), dev_fraction=0.5, test_fraction=0.5)


def test_one_speaker_written_nfc_and_nfd_is_one_speaker(audio_dir: Path) -> None:
    composed, decomposed = unicodedata.normalize("NFC", "Hùng"), unicodedata.normalize("NFD", "Hùng")
    assert composed != decomposed
    rows = [row("audio/c0.wav", speaker=composed), row("audio/c1.wav", speaker=decomposed)]
    rows += [row(f"audio/c{i}.wav", speaker=f"s{i}") for i in range(2, 6)]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows))
    assert list(frame["speaker"][:2]) == [composed, composed]
    assert frame["speaker"].nunique() == 5
    for seed in range(5):
        split = assign_speaker_splits(frame, seed=seed)
        assert split.loc[0, "split"] == split.loc[1, "split"]


def test_speaker_splits_keep_unnormalised_spellings_together() -> None:
    frame = speakers_frame(4)
    frame.loc[0, "speaker"] = unicodedata.normalize("NFD", "Hùng")
    frame.loc[1, "speaker"] = unicodedata.normalize("NFC", "Hùng")
    for seed in range(5):
        split = assign_speaker_splits(frame, seed=seed)
        assert split.loc[0, "split"] == split.loc[1, "split"]


def test_a_speaker_in_two_splits_is_caught_across_unicode_forms(audio_dir: Path) -> None:
    rows = [
        row("audio/c0.wav", speaker=unicodedata.normalize("NFC", "Hùng"), split="train"),
        row("audio/c1.wav", speaker=unicodedata.normalize("NFD", "Hùng"), split="test"),
    ]
    assert "(test, train)" in error_message(write_csv(audio_dir / "manifest.csv", rows))


def test_paths_are_nfc_unless_only_the_written_spelling_exists(audio_dir: Path, write_tone: ToneWriter) -> None:
    decomposed = unicodedata.normalize("NFD", "giọng.wav")
    write_tone(f"data/audio/{decomposed}", duration_s=0.1)
    rows = [row(f"audio/{decomposed}"), row(f"audio/{unicodedata.normalize('NFD', 'cũ.wav')}", speaker="s2")]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows), check_files=False)
    assert frame.loc[0, "path"] == str(audio_dir / "audio" / decomposed)
    assert frame.loc[1, "path"] == str(audio_dir / "audio" / "cũ.wav")
    assert list(frame["clip_id"]) == ["audio/giọng.wav", "audio/cũ.wav"]


def test_a_symlink_to_a_listed_clip_with_another_label_names_both_rows(audio_dir: Path) -> None:
    (audio_dir / "audio" / "link.wav").symlink_to(audio_dir / "audio" / "c0.wav")
    rows = [row("audio/c0.wav", "calm"), row("audio/c1.wav"), row("audio/link.wav", "angry")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "different labels" in message
    assert "row 1 ('audio/c0.wav', calm) and row 3 ('audio/link.wav', angry)" in message
    assert str(audio_dir / "audio" / "c0.wav") in message and "row 2" not in message


def test_dot_dot_paths_to_one_clip_are_duplicates(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav"), row("audio/../audio/c0.wav"), row("audio/c1.wav")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "duplicate clip(s): row 1 ('audio/c0.wav') and row 2 ('audio/../audio/c0.wav') are one file" in message
    assert "different labels" not in message


def test_a_symlinked_folder_with_the_same_labels_is_a_duplicate(audio_dir: Path) -> None:
    (audio_dir / "mirror").symlink_to(audio_dir / "audio", target_is_directory=True)
    rows = [row("audio/c0.wav", "panic"), row("mirror/c0.wav", "fear")]
    message = error_message(write_csv(audio_dir / "manifest.csv", rows))
    assert "duplicate clip(s): row 1 ('audio/c0.wav') and row 2 ('mirror/c0.wav')" in message


def test_a_speaker_id_two_corpora_use_names_two_speakers(audio_dir: Path) -> None:
    rows = [
        row("audio/c0.wav", speaker="03", split="train", corpus="ravdess"),
        row("audio/c1.wav", speaker="03", split="test", corpus="emodb"),
        row("audio/c2.wav", speaker="07", split="train", corpus="emodb"),
    ]
    frame = load_manifest(write_csv(audio_dir / "manifest.csv", rows))
    assert frame["speaker"].tolist() == ["ravdess/03", "emodb/03", "07"]
    assert frame["corpus"].tolist() == ["ravdess", "emodb", "emodb"]


def test_an_empty_corpus_cell_is_reported_by_row(audio_dir: Path) -> None:
    rows = [row("audio/c0.wav", corpus="ravdess"), row("audio/c1.wav", corpus=" ")]
    assert "empty corpus in row(s) 2" in error_message(write_csv(audio_dir / "manifest.csv", rows))
