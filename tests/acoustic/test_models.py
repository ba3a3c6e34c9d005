from __future__ import annotations

import pytest

from vietser.acoustic import FeatureView, Normalisation, feature_columns
from vietser.errors import ModelError

COLUMNS = ["clip_id", "egemaps.a", "prosody.b", "z.egemaps.a", "z.prosody.b", "label"]


@pytest.mark.parametrize(
    ("feature_set", "normalisation", "expected"),
    [
        (FeatureView.EGEMAPS, Normalisation.SPEAKER, ["z.egemaps.a"]),
        (FeatureView.PROSODY, Normalisation.SPEAKER, ["z.prosody.b"]),
        (FeatureView.BOTH, Normalisation.SPEAKER, ["z.egemaps.a", "z.prosody.b"]),
        (FeatureView.EGEMAPS, Normalisation.CORPUS, ["egemaps.a"]),
        (FeatureView.BOTH, Normalisation.CORPUS, ["egemaps.a", "prosody.b"]),
    ],
)
def test_feature_set_and_normalisation_select_columns(
    feature_set: FeatureView, normalisation: Normalisation, expected: list[str]
) -> None:
    assert feature_columns(COLUMNS, feature_set, normalisation) == expected


def test_table_without_the_chosen_family_is_refused() -> None:
    with pytest.raises(ModelError, match="z.prosody."):
        feature_columns(["clip_id", "z.egemaps.a"], FeatureView.PROSODY, Normalisation.SPEAKER)


def test_the_voice_view_reads_pitch_voice_quality_and_formants_only() -> None:
    voice = ["egemaps.F0semitoneFrom27.5Hz_sma3nz_amean", "egemaps.HNRdBACF_sma3nz_amean", "egemaps.F1frequency_sma3nz_amean"]
    moved = [
        "egemaps.loudness_sma3_amean",  # follows the gain
        "egemaps.mfcc1_sma3_amean",  # follows the microphone and codec
        "prosody.speech_rate",  # follows the language and the text
        "egemaps.VoicedSegmentsPerSec",
    ]
    assert feature_columns(["clip_id", *moved, *voice], FeatureView.VOICE, Normalisation.CORPUS) == voice
