"""Evidence: class profiles, occlusion attribution and the cues of planted clips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vietser.evidence import ClassProfiles, build_evidence, fit_class_profiles, occlusion_attribution
from vietser.labels import CLASSES, VIETNAMESE_NAMES

RATE = "prosody.speech_rate"
LOUDNESS = "egemaps.loudness_sma3_amean"
PITCH = "prosody.f0_mean_st"
JITTER = "prosody.jitter_local"
MFCC = "egemaps.mfcc1_sma3_amean"
# raw value = centre + scale * z for every generated clip
RAW_SCALE = {RATE: (4.5, 0.8), LOUDNESS: (1.0, 0.3), PITCH: (30.0, 2.0), JITTER: (0.02, 0.004), MFCC: (20.0, 5.0)}
# class means of the z-scores: angry and panic speak fast and loud, calm slow and quiet
CLASS_MEANS = {
    "calm": {RATE: -1.0, LOUDNESS: -1.0, PITCH: -0.8, JITTER: 0.0, MFCC: 0.0},
    "angry": {RATE: 1.0, LOUDNESS: 1.6, PITCH: 0.4, JITTER: 0.0, MFCC: 0.0},
    "panic": {RATE: 1.6, LOUDNESS: 0.8, PITCH: 1.5, JITTER: 1.0, MFCC: 0.0},
}


def clip_row(clip_id: str, label: str, z: dict[str, float]) -> dict[str, object]:
    raw = {column: centre + scale * z[column] for column, (centre, scale) in RAW_SCALE.items()}
    return {"clip_id": clip_id, "speaker": "s1", "label": label, **raw, **{f"z.{c}": v for c, v in z.items()}}


def training_frame(n_per_class: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for label, means in CLASS_MEANS.items():
        for i in range(n_per_class):
            z = {column: float(rng.normal(mean, 0.5)) for column, mean in means.items()}
            rows.append(clip_row(f"{label}/{i}.wav", label, z))
    return pd.DataFrame(rows)


def planted_clip(**z: float) -> pd.DataFrame:
    """One clip at the speaker's baseline except for the given z-scores (keys: rate, loudness, ...)."""
    names = {"rate": RATE, "loudness": LOUDNESS, "pitch": PITCH, "jitter": JITTER, "mfcc": MFCC}
    values = {column: 0.0 for column in RAW_SCALE} | {names[key]: value for key, value in z.items()}
    return pd.DataFrame([clip_row("planted.wav", "angry", values)])


def rate_only_model(frame: pd.DataFrame) -> np.ndarray:
    """A model that reads nothing but the speaker-relative speaking rate: fast means angry."""
    angry = 1.0 / (1.0 + np.exp(-2.0 * frame[f"z.{RATE}"].to_numpy(dtype=float)))
    return np.column_stack([1.0 - angry, angry, np.zeros_like(angry)])


@pytest.fixture(scope="module")
def profiles() -> ClassProfiles:
    return fit_class_profiles(training_frame())


def cue_for(evidence, column: str):
    return next(cue for cue in evidence.cues if cue.feature == column)


def test_profiles_hold_each_class_typical_z(profiles: ClassProfiles) -> None:
    assert profiles.mean["angry"][RATE] > 0.7 > -0.7 > profiles.mean["calm"][RATE]
    assert profiles.std["panic"][PITCH] == pytest.approx(0.5, abs=0.15)
    assert profiles.count == {"calm": 60, "angry": 60, "panic": 60}


def test_profiles_survive_a_json_round_trip(profiles: ClassProfiles) -> None:
    assert ClassProfiles.model_validate_json(profiles.model_dump_json()) == profiles


def test_profiles_keep_raw_corpus_means_for_occlusion(profiles: ClassProfiles) -> None:
    assert profiles.corpus_mean[RATE] == pytest.approx(4.5 + 0.8 * np.mean([-1.0, 1.0, 1.6]), abs=0.1)


def test_profiles_need_speaker_normalised_columns() -> None:
    frame = training_frame(5).drop(columns=[f"z.{RATE}"])
    with pytest.raises(ValueError, match="speaker-normalised"):
        fit_class_profiles(frame, columns=[RATE])


def test_fast_loud_clip_cues_point_high_and_to_angry_or_panic(profiles: ClassProfiles) -> None:
    clip = planted_clip(rate=2.0, loudness=2.2)
    [evidence] = build_evidence(clip, np.array([[0.1, 0.6, 0.3]]), profiles)
    for column in (RATE, LOUDNESS):
        cue = cue_for(evidence, column)
        assert cue.direction == "high"
        assert cue.supports in {"angry", "panic"}
    assert [cue.feature for cue in evidence.cues[:2]] == [LOUDNESS, RATE]


def test_slow_quiet_clip_cues_point_low_and_to_calm(profiles: ClassProfiles) -> None:
    [evidence] = build_evidence(planted_clip(rate=-1.5, loudness=-1.2), np.array([[0.8, 0.1, 0.1]]), profiles)
    cue = cue_for(evidence, RATE)
    assert (cue.direction, cue.supports) == ("low", "calm")


def test_cue_text_states_value_unit_sign_and_class(profiles: ClassProfiles) -> None:
    clip = planted_clip(rate=2.0)
    clip[RATE] = 6.1
    [evidence] = build_evidence(clip, np.array([[0.1, 0.3, 0.6]]), profiles, min_clips_per_speaker=1)
    cue = cue_for(evidence, RATE)
    assert cue.text_en == (
        f"Speaking rate 6.1 syll/s, +2.0 SD vs this speaker's baseline (fast) → supports {cue.supports}"
    )
    assert cue.text_vi == (
        "Tốc độ nói 6,1 âm tiết/giây, +2,0 SD so với mức thường của người nói (nhanh) "
        f"→ nghiêng về {VIETNAMESE_NAMES[cue.supports]}"
    )


def test_a_clip_read_with_the_other_clips_of_its_speaker_says_so(profiles: ClassProfiles) -> None:
    clips = pd.concat([planted_clip(rate=2.0), planted_clip(rate=2.0)], ignore_index=True)
    probabilities = np.array([[0.1, 0.3, 0.6], [0.1, 0.3, 0.6]])

    together, alone = build_evidence(clips, probabilities, profiles, min_clips_per_speaker=1, read_as_one=np.array([True, False]))

    assert "read together, by the speaker's class mix" in cue_for(together, RATE).text_en
    assert "đọc chung" in cue_for(together, RATE).text_vi
    assert "read together" not in cue_for(alone, RATE).text_en


def test_negative_z_is_written_with_its_sign(profiles: ClassProfiles) -> None:
    [evidence] = build_evidence(planted_clip(loudness=-1.5), np.array([[0.8, 0.1, 0.1]]), profiles)
    cue = cue_for(evidence, LOUDNESS)
    assert "-1.5 SD" in cue.text_en and "(quiet)" in cue.text_en
    assert "-1,5 SD" in cue.text_vi and "0,55 sone" in cue.text_vi


def test_cue_near_baseline_supports_no_class(profiles: ClassProfiles) -> None:
    [evidence] = build_evidence(planted_clip(rate=0.2, loudness=2.0), np.array([[0.2, 0.6, 0.2]]), profiles)
    cue = cue_for(evidence, RATE)
    assert cue.supports is None
    assert "→" not in cue.text_en and "(typical)" in cue.text_en


def test_uninterpretable_features_are_values_but_not_cues(profiles: ClassProfiles) -> None:
    [evidence] = build_evidence(planted_clip(mfcc=4.0, rate=0.8), np.array([[0.4, 0.3, 0.3]]), profiles)
    assert MFCC not in {cue.feature for cue in evidence.cues}
    assert evidence.z[MFCC] == 4.0
    assert evidence.values[MFCC] == pytest.approx(40.0)


def test_values_and_z_cover_every_column_and_skip_missing(profiles: ClassProfiles) -> None:
    clip = planted_clip(rate=1.0)
    clip[f"z.{JITTER}"] = np.nan
    [evidence] = build_evidence(clip, np.array([[0.3, 0.4, 0.3]]), profiles)
    assert set(evidence.values) == set(RAW_SCALE)
    assert set(evidence.z) == set(RAW_SCALE) - {JITTER}
    assert JITTER not in {cue.feature for cue in evidence.cues}


def test_top_k_limits_the_number_of_cues(profiles: ClassProfiles) -> None:
    [evidence] = build_evidence(planted_clip(rate=2.0, loudness=2.0), np.array([[0.1, 0.6, 0.3]]), profiles, top_k=2)
    assert len(evidence.cues) == 2


def test_attribution_credits_the_feature_the_model_reads(profiles: ClassProfiles) -> None:
    clip = planted_clip(rate=1.5, loudness=1.6)
    [evidence] = build_evidence(clip, rate_only_model(clip), profiles, rate_only_model)
    expected = rate_only_model(clip)[0, 1] - 0.5
    assert cue_for(evidence, RATE).attribution == pytest.approx(expected)
    assert cue_for(evidence, LOUDNESS).attribution == 0.0
    assert evidence.cues[0].feature == RATE


def test_attribution_is_negative_when_the_feature_argues_against_the_decision(profiles: ClassProfiles) -> None:
    clip = planted_clip(rate=-1.0)
    [evidence] = build_evidence(clip, np.array([[0.1, 0.8, 0.1]]), profiles, rate_only_model)
    assert cue_for(evidence, RATE).attribution < 0.0


def test_occlusion_batches_many_clips_in_small_chunks() -> None:
    frame = training_frame(10)
    groups = {"rate": [RATE, f"z.{RATE}"]}
    baseline = {RATE: 4.5, f"z.{RATE}": 0.0}
    target = np.ones(len(frame), dtype=int)
    whole = occlusion_attribution(frame, rate_only_model, groups, baseline, target)
    chunked = occlusion_attribution(frame, rate_only_model, groups, baseline, target, max_rows=4)
    np.testing.assert_allclose(chunked, whole)
    np.testing.assert_allclose(whole[:, 0], rate_only_model(frame)[:, 1] - 0.5)


def test_probabilities_must_have_one_row_per_clip(profiles: ClassProfiles) -> None:
    with pytest.raises(ValueError, match="CLASSES order"):
        build_evidence(planted_clip(rate=1.0), np.full((2, len(CLASSES)), 1 / 3), profiles)
