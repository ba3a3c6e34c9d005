"""Corpus adapters on tiny trees that follow each corpus's published file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ToneWriter
from vietser.data.corpora import (
    ADAPTERS,
    Corpus,
    CorpusManifest,
    build_corpus_manifest,
    crema_d_manifest,
    emodb_manifest,
    ravdess_manifest,
    tess_manifest,
)
from vietser.data.manifest import load_manifest, write_manifest
from vietser.errors import ConfigError, CorpusError


def touch(root: Path, *names: str) -> Path:
    """Empty placeholder files: adapters read names, never audio."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return root


def labels_by_emotion(result: CorpusManifest) -> dict[str, str]:
    return dict(zip(result.frame["original_emotion"], result.frame["label"]))


@pytest.fixture
def ravdess_root(tmp_path: Path) -> Path:
    names = [
        f"Actor_{actor}/03-01-{emotion}-01-01-01-{actor}.wav"
        for actor in ("01", "02", "03")
        for emotion in ("01", "02", "03", "04", "05", "06", "07", "08")
    ]
    songs = ["Actor_01/03-02-05-01-01-01-01.wav", "Actor_02/03-02-06-02-01-02-02.wav"]
    return touch(tmp_path / "ravdess", *names, *songs, "Actor_01/notes.wav", "README.txt")


@pytest.fixture
def cremad_root(tmp_path: Path) -> Path:
    names = [
        f"AudioWAV/{actor}_{sentence}_{emotion}_{level}.wav"
        for actor in ("1001", "1002", "1003")
        for sentence, level in (("DFA", "XX"), ("IEO", "HI"))
        for emotion in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
    ]
    return touch(tmp_path / "crema-d", *names, "AudioMP3/1001_DFA_ANG_XX.mp3")


@pytest.fixture
def tess_root(tmp_path: Path) -> Path:
    names = [
        "OAF_angry/OAF_back_angry.wav",
        "OAF_Fear/OAF_back_fear.wav",
        "OAF_neutral/OAF_back_neutral.wav",
        "OAF_neutral/OA_bite_neutral.wav",
        "OAF_Pleasant_surprise/OAF_back_ps.wav",
        "OAF_Sad/OAF_back_sad.wav",
        "YAF_angry/YAF_back_angry.wav",
        "YAF_fear/YAF_back_fear.wav",
        "YAF_neutral/YAF_back_neutral.wav",
        "YAF_pleasant_surprised/YAF_back_ps.wav",
        "YAF_disgust/YAF_back_disgust.wav",
        "YAF_happy/YAF_back_happy.wav",
    ]
    return touch(tmp_path / "tess", *names)


@pytest.fixture
def emodb_root(tmp_path: Path) -> Path:
    names = [
        f"wav/{speaker}a01{emotion}a.wav"
        for speaker in ("03", "08", "09", "10")
        for emotion in ("W", "L", "E", "A", "F", "T", "N")
    ]
    return touch(tmp_path / "emodb", *names, "wav/16b10Wb.wav", "lablaut/03a01Fa.lab")


def test_ravdess_maps_neutral_and_calm_to_calm_anger_and_fear_to_their_classes(ravdess_root: Path) -> None:
    result = ravdess_manifest(ravdess_root)
    expected = {"neutral": "calm", "calm": "calm", "angry": "angry", "fearful": "panic"}
    assert labels_by_emotion(result) == expected
    assert len(result.frame) == 12


def test_ravdess_speakers_are_actors(ravdess_root: Path) -> None:
    frame = ravdess_manifest(ravdess_root).frame
    assert sorted(frame["speaker"].unique()) == ["ravdess_01", "ravdess_02", "ravdess_03"]
    assert set(frame.loc[frame["speaker"] == "ravdess_02", "gender"]) == {"female"}


def test_ravdess_song_files_and_unmapped_emotions_are_counted_as_left_out(ravdess_root: Path) -> None:
    left_out = ravdess_manifest(ravdess_root).left_out
    expected = {"disgust": 3, "happy": 3, "sad": 3, "song": 2, "surprised": 3, "unrecognised file name": 1}
    assert left_out == expected


def test_ravdess_accepts_flac_files(tmp_path: Path) -> None:
    root = touch(tmp_path, "Actor_07/03-01-05-02-02-01-07.flac")
    frame = ravdess_manifest(root).frame
    assert frame.loc[0, ["label", "speaker", "intensity"]].tolist() == ["angry", "ravdess_07", "strong"]
    assert frame.loc[0, "transcript"] == "Dogs are sitting by the door."


def test_ravdess_label_map_overrides_by_name_or_code(ravdess_root: Path) -> None:
    result = ravdess_manifest(ravdess_root, label_map={"happy": "calm", "02": None})
    assert labels_by_emotion(result) == {"neutral": "calm", "happy": "calm", "angry": "angry", "fearful": "panic"}
    assert result.left_out["calm"] == 3


def test_label_map_naming_an_emotion_the_corpus_lacks_is_a_config_error(ravdess_root: Path) -> None:
    with pytest.raises(ConfigError, match="boredom.*neutral"):
        ravdess_manifest(ravdess_root, label_map={"boredom": "calm"})


def test_cremad_maps_neutral_anger_fear_and_leaves_the_rest_out(cremad_root: Path) -> None:
    result = crema_d_manifest(cremad_root)
    assert labels_by_emotion(result) == {"anger": "angry", "fear": "panic", "neutral": "calm"}
    assert result.left_out == {"disgust": 6, "happy": 6, "sad": 6}


def test_cremad_speakers_sentences_and_levels_come_from_the_name(cremad_root: Path) -> None:
    frame = crema_d_manifest(cremad_root).frame.set_index("clip_id")
    clip = frame.loc["AudioWAV/1002_IEO_FEA_HI.wav"]
    assert (clip["speaker"], clip["level"], clip["transcript"]) == ("cremad_1002", "high", "It's eleven o'clock.")


def test_tess_reads_speaker_and_emotion_from_its_folders_including_misnamed_files(tess_root: Path) -> None:
    frame = tess_manifest(tess_root).frame.set_index("clip_id")
    assert frame.loc["OAF_neutral/OA_bite_neutral.wav", "speaker"] == "tess_OAF"
    assert frame.loc["OAF_neutral/OA_bite_neutral.wav", "transcript"] == "Say the word bite."
    assert frame.loc["YAF_fear/YAF_back_fear.wav", "label"] == "panic"


def test_tess_leaves_out_pleasant_surprise_sad_disgust_and_happy(tess_root: Path) -> None:
    result = tess_manifest(tess_root)
    assert result.left_out == {"disgust": 1, "happy": 1, "pleasant_surprise": 2, "sad": 1}
    assert labels_by_emotion(result) == {"angry": "angry", "fear": "panic", "neutral": "calm"}


def test_tess_two_speakers_split_into_train_and_test_without_dev(tess_root: Path) -> None:
    frame = tess_manifest(tess_root).frame
    assert sorted(frame.groupby("speaker")["split"].unique().map(tuple)) == [("test",), ("train",)]


def test_tess_files_in_one_flat_folder_use_the_file_name(tmp_path: Path) -> None:
    root = touch(tmp_path, "all/OAF_back_angry.wav", "all/YAF_germ_ps.wav")
    result = tess_manifest(root, label_map={"ps": "panic"})
    assert list(result.frame["speaker"]) == ["tess_OAF", "tess_YAF"]
    assert list(result.frame["label"]) == ["angry", "panic"]


def test_emodb_maps_letters_and_names_speakers(emodb_root: Path) -> None:
    result = emodb_manifest(emodb_root)
    assert labels_by_emotion(result) == {"anger": "angry", "fear": "panic", "neutral": "calm"}
    assert sorted(result.frame["speaker"].unique()) == ["emodb_03", "emodb_08", "emodb_09", "emodb_10", "emodb_16"]
    assert result.left_out == {"boredom": 4, "disgust": 4, "happiness": 4, "sadness": 4}


def test_emodb_keeps_text_and_gender(emodb_root: Path) -> None:
    frame = emodb_manifest(emodb_root).frame.set_index("clip_id")
    clip = frame.loc["wav/16b10Wb.wav"]
    assert (clip["text"], clip["gender"], clip["version"]) == ("b10", "female", "b")
    assert clip["transcript"].startswith("Die wird auf dem Platz sein")


@pytest.mark.parametrize(
    ("adapter", "fixture"),
    [(ravdess_manifest, "ravdess_root"), (crema_d_manifest, "cremad_root"), (emodb_manifest, "emodb_root")],
)
def test_every_speaker_keeps_to_one_split_and_each_split_is_used(adapter, fixture, request) -> None:
    frame = adapter(request.getfixturevalue(fixture)).frame
    assert frame.groupby("speaker")["split"].nunique().max() == 1
    assert set(frame["split"]) == {"train", "dev", "test"}


def test_corpus_manifest_round_trips_through_a_manifest_file(cremad_root: Path, tmp_path: Path) -> None:
    frame = crema_d_manifest(cremad_root).frame
    reloaded = load_manifest(write_manifest(frame, cremad_root / "manifest.csv"))
    assert reloaded[["clip_id", "label", "speaker", "split", "transcript"]].equals(
        frame[["clip_id", "label", "speaker", "split", "transcript"]]
    )


def test_real_audio_files_are_listed_without_being_decoded(tmp_path: Path, write_tone: ToneWriter) -> None:
    write_tone("emodb/wav/11a02Ac.wav", duration_s=0.1)
    frame = emodb_manifest(tmp_path / "emodb").frame
    assert frame.loc[0, "path"] == str(tmp_path / "emodb" / "wav" / "11a02Ac.wav")


def test_the_same_file_name_twice_is_kept_once_and_counted(tmp_path: Path) -> None:
    name = "03-01-05-01-01-01-01.wav"
    root = touch(tmp_path, f"Actor_01/{name}", f"audio_speech_actors_01-24/Actor_01/{name}")
    result = ravdess_manifest(root)
    assert list(result.frame["clip_id"]) == [f"Actor_01/{name}"]
    assert result.left_out == {"duplicate file name": 1}


def test_hidden_files_and_macos_archive_folders_are_ignored(tmp_path: Path) -> None:
    root = touch(tmp_path, "wav/03a01Wa.wav", "wav/._03a01Wa.wav", "__MACOSX/wav/03a01Na.wav")
    result = emodb_manifest(root)
    assert list(result.frame["clip_id"]) == ["wav/03a01Wa.wav"] and result.left_out == {}


def test_a_folder_of_other_files_names_the_expected_layout(tmp_path: Path) -> None:
    root = touch(tmp_path, "clips/hello.wav", "clips/world.wav")
    with pytest.raises(CorpusError, match=r"expected files named Actor_XX/03-01-EE.*found only other names.*hello"):
        ravdess_manifest(root)


def test_an_empty_folder_says_no_audio_was_found(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="found no .wav/.flac files"):
        emodb_manifest(tmp_path)


def test_a_missing_folder_is_a_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not a folder"):
        tess_manifest(tmp_path / "absent")


def test_a_label_map_leaving_out_everything_is_a_corpus_error(tmp_path: Path) -> None:
    root = touch(tmp_path, "AudioWAV/1001_DFA_NEU_XX.wav")
    with pytest.raises(CorpusError, match="every crema-d file was left out.*neutral: 1"):
        crema_d_manifest(root, label_map="neu=none")


def test_build_corpus_manifest_accepts_loose_corpus_names(cremad_root: Path) -> None:
    result = build_corpus_manifest("CREMA_D", cremad_root)
    assert set(result.frame["corpus"]) == {"crema-d"}


def test_build_corpus_manifest_rejects_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ravdess, crema-d, tess, emodb"):
        build_corpus_manifest("iemocap", tmp_path)


def test_every_corpus_has_an_adapter() -> None:
    assert set(ADAPTERS) == set(Corpus)
