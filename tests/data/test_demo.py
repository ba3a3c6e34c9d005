from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import parselmouth
import pytest
import soundfile as sf
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from vietser.data.audio import file_sha256, load_audio
from vietser.data.demo import OPENING_SHARE, DemoCorpus, make_demo_corpus
from vietser.data.demo_sentences import OPENINGS, SENTENCES, opening_sentence
from vietser.rules.engine import evaluate_rules
from vietser.decision import ClipEvidence
from vietser.rules.rulebook import default_rulebook
from vietser.errors import ConfigError
from vietser.labels import CLASSES, SPLITS

ANNOTATORS = ["annotator_a", "annotator_b", "annotator_c"]
VIETNAMESE_LETTERS = "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> DemoCorpus:
    # Seed 1 gives spk02 the breathy "+f2" variant: reproducible only if espeak-ng's noise is seeded.
    return make_demo_corpus(tmp_path_factory.mktemp("small"), n_speakers=3, clips_per_speaker=4, seed=1)


@pytest.fixture(scope="module")
def moderate(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """60 clips with measured loudness, pitch, pitch contour and high-band energy."""
    corpus = make_demo_corpus(tmp_path_factory.mktemp("moderate"), n_speakers=4, clips_per_speaker=15, seed=0, n_jobs=2)
    manifest = pd.read_csv(corpus.manifest_path)
    measures = pd.DataFrame([_measure(corpus.out_dir / path) for path in manifest["path"]])
    return pd.concat([manifest, measures], axis=1)


def _measure(path: Path) -> dict[str, float]:
    """Level (dB), median F0 and F0 slope (semitones re 100 Hz, per s), share of energy above 4 kHz."""
    audio = load_audio(path)
    pitch = parselmouth.Sound(audio.samples.astype(np.float64), audio.sample_rate).to_pitch()
    f0, times = pitch.selected_array["frequency"], pitch.xs()
    st = 12 * np.log2(f0[f0 > 0] / 100)
    power = np.abs(np.fft.rfft(audio.samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(audio.samples), 1 / audio.sample_rate)
    return {
        "rms_db": float(20 * np.log10(np.sqrt(np.mean(audio.samples**2)))),
        "f0_st": float(np.median(st)),
        "f0_slope": float(np.polyfit(times[f0 > 0], st, 1)[0]),
        "high_band": float(power[freqs > 4000].sum() / power.sum()),
    }


def _hashes(corpus: DemoCorpus) -> dict[str, str]:
    return {str(p.relative_to(corpus.out_dir)): file_sha256(p) for p in sorted(corpus.out_dir.rglob("*.wav"))}


def _above_calm(frame: pd.DataFrame, column: str, label: str) -> float:
    """Mean over speakers of (class mean - calm mean) for one speaker-relative measure, over the clips
    whose voice carries their class (not those the words decide)."""
    frame = frame[frame["words_decide"] == 0]
    means = frame.groupby(["speaker", "label"])[column].mean().unstack()
    return float((means[label] - means["calm"]).mean())


def test_result_counts_clips_and_speakers(small: DemoCorpus) -> None:
    assert small.n_clips == 12
    assert small.speakers == ("spk01", "spk02", "spk03")
    assert small.manifest_path == small.out_dir / "manifest.csv"


def test_manifest_has_the_design_columns_and_valid_labels(small: DemoCorpus) -> None:
    manifest = pd.read_csv(small.manifest_path)
    assert list(manifest.columns) == [
        "path", "label", "speaker", "split", "transcript", *ANNOTATORS, "intensity", "words_decide"
    ]
    assert set(manifest["words_decide"]) <= {0, 1}
    assert set(manifest["label"]) <= set(CLASSES)
    assert set(manifest[ANNOTATORS].to_numpy().ravel()) <= set(CLASSES)
    assert manifest["intensity"].between(0, 1).all()
    assert manifest["path"].iloc[2] == "audio/spk01/spk01_003.wav"


def test_clips_are_16k_mono_pcm16_wavs_that_load(small: DemoCorpus) -> None:
    manifest = pd.read_csv(small.manifest_path)
    for path in manifest["path"]:
        info = sf.info(small.out_dir / path)
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
        assert 1.5 <= load_audio(small.out_dir / path).duration_s <= 6.0  # an opening and a sentence: up to 6 s


def test_transcripts_are_vietnamese_with_diacritics(small: DemoCorpus) -> None:
    transcripts = pd.read_csv(small.manifest_path)["transcript"]
    assert all(set(text.lower()) & set(VIETNAMESE_LETTERS) for text in transcripts)


def test_every_split_has_its_own_speakers(small: DemoCorpus) -> None:
    manifest = pd.read_csv(small.manifest_path)
    assert (manifest.groupby("speaker")["split"].nunique() == 1).all()
    assert set(manifest["split"]) == set(SPLITS)


def test_every_speaker_has_every_class(small: DemoCorpus) -> None:
    manifest = pd.read_csv(small.manifest_path)
    assert (manifest.groupby("speaker")["label"].nunique() == len(CLASSES)).all()


def test_readme_says_the_corpus_is_synthetic(small: DemoCorpus) -> None:
    readme = (small.out_dir / "README.md").read_text(encoding="utf-8")
    assert "not human speech" in readme
    assert "espeak-ng" in readme


def test_readme_states_the_size_and_the_speaker_split(small: DemoCorpus) -> None:
    readme = (small.out_dir / "README.md").read_text(encoding="utf-8")
    assert "12 clips from 3 synthetic speakers (4 each)" in readme
    assert "1 train, 1 dev, 1 test" in readme


def test_same_seed_gives_byte_identical_corpus(small: DemoCorpus, tmp_path: Path) -> None:
    again = make_demo_corpus(tmp_path, n_speakers=3, clips_per_speaker=4, seed=1)
    assert again.manifest_path.read_bytes() == small.manifest_path.read_bytes()
    assert _hashes(again) == _hashes(small)


def test_parallel_rendering_gives_the_same_bytes(small: DemoCorpus, tmp_path: Path) -> None:
    parallel = make_demo_corpus(tmp_path, n_speakers=3, clips_per_speaker=4, seed=1, n_jobs=2)
    assert _hashes(parallel) == _hashes(small)


def test_different_seed_gives_a_different_corpus(small: DemoCorpus, tmp_path: Path) -> None:
    other = make_demo_corpus(tmp_path, n_speakers=3, clips_per_speaker=4, seed=7)
    assert other.manifest_path.read_bytes() != small.manifest_path.read_bytes()
    assert set(_hashes(other).values()).isdisjoint(_hashes(small).values())


def test_too_few_speakers_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="n_speakers >= 3"):
        make_demo_corpus(tmp_path, n_speakers=2)


def test_angry_and_panic_clips_are_louder_than_calm(moderate: pd.DataFrame) -> None:
    assert _above_calm(moderate, "rms_db", "angry") > 2.0
    assert _above_calm(moderate, "rms_db", "panic") > 1.0


def test_angry_and_panic_clips_are_higher_pitched_than_calm(moderate: pd.DataFrame) -> None:
    assert _above_calm(moderate, "f0_st", "angry") > 0.5
    assert _above_calm(moderate, "f0_st", "panic") > _above_calm(moderate, "f0_st", "angry") + 0.5


def test_panic_pitch_rises_more_than_angry_pitch(moderate: pd.DataFrame) -> None:
    slopes = moderate[moderate["words_decide"] == 0].groupby("label")["f0_slope"].mean()
    assert slopes["panic"] > slopes["angry"] + 1.0


def test_mild_angry_and_panic_clips_sound_nearer_calm_than_intense_ones(moderate: pd.DataFrame) -> None:
    calm = moderate[moderate["label"] == "calm"].groupby("speaker")[["rms_db", "f0_st"]].mean()
    aroused = moderate[(moderate["label"] != "calm") & (moderate["words_decide"] == 0)]
    above_calm = aroused[["rms_db", "f0_st"]] - calm.loc[aroused["speaker"]].to_numpy()
    mild, intense = aroused["intensity"] < 0.3, aroused["intensity"] > 0.6
    assert above_calm[mild].mean().lt(above_calm[intense].mean() - 1.0).all()


def test_some_calls_come_over_a_narrow_band_phone_line(moderate: pd.DataFrame) -> None:
    narrow = moderate["high_band"] < 1e-4
    assert 0 < narrow.sum() < len(moderate)
    assert moderate.loc[~narrow, "high_band"].min() > 10 * moderate.loc[narrow, "high_band"].max()


def test_simulated_annotators_agree_like_human_annotators(moderate: pd.DataFrame) -> None:
    table, _ = aggregate_raters(moderate[ANNOTATORS].to_numpy())
    assert 0.6 < fleiss_kappa(table) < 0.95


def test_annotators_disagree_more_on_low_intensity_angry_and_panic(moderate: pd.DataFrame) -> None:
    unanimous = moderate[ANNOTATORS].nunique(axis=1) == 1
    aroused = (moderate["label"] != "calm") & (moderate["words_decide"] == 0)
    low = aroused & (moderate["intensity"] < 0.25)
    high = aroused & (moderate["intensity"] > 0.5)
    assert unanimous[low].mean() < unanimous[high].mean() - 0.2


def _opening(transcript: str) -> str | None:
    """The class whose opening a transcript starts with, if any."""
    return next((label for label, openings in OPENINGS.items() for o in openings if transcript.startswith(f"{o},")), None)


def test_every_class_opens_some_clips_with_words_of_its_own_then_a_neutral_sentence(moderate: pd.DataFrame) -> None:
    opened = moderate[moderate["transcript"].map(_opening).notna()]
    assert (opened["transcript"].map(_opening) == opened["label"]).all()
    for label in CLASSES:
        share = (opened["label"] == label).sum() / (moderate["label"] == label).sum()
        assert 0.4 * OPENING_SHARE < share < 1.6 * OPENING_SHARE, label
    neutral = {sentence[0].lower() + sentence[1:] for sentence in SENTENCES["neutral"]}
    assert all(text.split(", ", 1)[1] in neutral for text in opened["transcript"])


def test_the_words_decide_the_opened_angry_and_panic_clips_said_in_the_same_mixed_voice(moderate: pd.DataFrame) -> None:
    heard = moderate[moderate["words_decide"] == 1]
    assert set(heard["label"]) == {"angry", "panic"}
    assert (heard["transcript"].map(_opening) == heard["label"]).all()
    assert heard["intensity"].between(0.2, 0.3).all()
    calm_openings = moderate[(moderate["label"] == "calm") & moderate["transcript"].map(_opening).notna()]
    assert not calm_openings["words_decide"].any()


def test_annotators_follow_the_words_where_they_decide(moderate: pd.DataFrame) -> None:
    heard = moderate[moderate["words_decide"] == 1]
    votes = heard[ANNOTATORS].eq(heard["label"], axis=0).to_numpy().mean()
    assert votes > 0.85


def test_the_default_rulebook_hears_the_words_that_decide_and_not_the_calm_openings() -> None:
    evidence = ClipEvidence(clip_id="c", values={}, z={})
    for label, openings in OPENINGS.items():
        for opening in openings:
            text = opening_sentence(opening, SENTENCES["neutral"][0])
            heard = {f.supports for f in evaluate_rules(default_rulebook(), evidence, text) if f.rule.when[0].on_transcript}
            assert heard == (set() if label == "calm" else {label}), text


def test_readme_documents_the_words_deciding_as_a_simulation(small: DemoCorpus) -> None:
    readme = (small.out_dir / "README.md").read_text(encoding="utf-8")
    assert "## Clips the words decide (a simulation)" in readme
    assert "Tôi gọi để khiếu nại" in readme and "Nhà tôi không cháy" in readme
