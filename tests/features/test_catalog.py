from __future__ import annotations

import pandas as pd
import pytest

from vietser.errors import ConfigError
from vietser.features.catalog import describe, feature_columns
from vietser.features.smile import smile_columns
from vietser.features.prosody import COLUMNS as PROSODY_COLUMNS

RAW_COLUMNS = [*smile_columns("egemaps"), *PROSODY_COLUMNS]


@pytest.mark.parametrize("column", [*RAW_COLUMNS, *("z." + column for column in RAW_COLUMNS)])
def test_every_feature_column_is_described_in_english_and_vietnamese(column: str) -> None:
    info = describe(column)
    assert info.column == column
    assert info.name and info.name_vi and info.description and info.description_vi
    assert info.group in ("pitch", "loudness", "rate", "voice quality", "spectral", "formant")


def test_feature_names_are_unique() -> None:
    names = [describe(column).name for column in RAW_COLUMNS]
    assert len(set(names)) == len(names)


def test_egemaps_name_grammar_gives_readable_name_and_unit() -> None:
    pitch = describe("egemaps.F0semitoneFrom27.5Hz_sma3nz_amean")
    assert (pitch.name, pitch.unit, pitch.group) == ("pitch, mean", "st", "pitch")
    assert "27.5 Hz" in pitch.description
    variation = describe("egemaps.loudness_sma3_stddevNorm")
    assert (variation.name, variation.unit) == ("loudness, coefficient of variation", "")
    slope = describe("egemaps.loudness_sma3_meanRisingSlope")
    assert slope.unit == "sone/s"
    assert describe("egemaps.alphaRatioUV_sma3nz_amean").name == "alpha ratio (unvoiced), mean"
    assert describe("egemaps.F2bandwidth_sma3nz_amean").unit == "Hz"


def test_z_column_is_in_sd_and_keeps_the_group() -> None:
    info = describe("z.prosody.speech_rate")
    assert info.unit == "SD"
    assert info.group == describe("prosody.speech_rate").group == "rate"
    assert "speaker" in info.description and "người nói" in info.description_vi


@pytest.mark.parametrize("column", ["prosody.nope", "egemaps.mfcc9_sma3_amean", "egemaps.loudness_sma3_max", "label"])
def test_unknown_column_raises_key_error(column: str) -> None:
    with pytest.raises(KeyError, match="unknown"):
        describe(column)


def test_feature_columns_selects_raw_or_normalised_columns_in_frame_order() -> None:
    frame = pd.DataFrame(
        columns=["clip_id", "prosody.hnr_db", "egemaps.x", "z.prosody.hnr_db", "z.egemaps.x", "speaker"]
    )
    assert feature_columns(frame) == ["prosody.hnr_db", "egemaps.x"]
    assert feature_columns(frame, sets=("prosody",), normalised=True) == ["z.prosody.hnr_db"]


def test_feature_columns_rejects_unknown_set() -> None:
    with pytest.raises(ConfigError, match="unknown feature set"):
        feature_columns(pd.DataFrame(), sets=("mfcc",))


@pytest.mark.parametrize(
    ("column", "group"),
    [
        ("emobase.F0_sma_amean", "pitch"),
        ("emobase.pcm_intensity_sma_max", "loudness"),
        ("emobase.mfcc_sma[3]_skewness", "spectral"),
        ("z.compare.jitterLocal_sma_amean", "voice quality"),
    ],
)
def test_wide_set_columns_get_a_generic_entry_that_says_they_are_not_evidence(column: str, group: str) -> None:
    info = describe(column)
    assert info.group == group
    assert column.removeprefix("z.").split(".", 1)[1] in info.name
    assert "not used as evidence" in describe(column.removeprefix("z.")).description
