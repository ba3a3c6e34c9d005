"""Human names, units and one-line descriptions (English and Vietnamese) of every feature column.

``describe("egemaps.F0semitoneFrom27.5Hz_sma3nz_amean")`` reads the openSMILE
name grammar (low-level descriptor, smoothing, functional) instead of
listing 88 entries by hand; ``prosody.*`` columns have their own entries and
every ``z.<column>`` is its speaker-normalised counterpart in SD units. The
wide openSMILE sets (``emobase.*``, ``compare.*``) are model inputs only: they
get a generic entry named after the openSMILE feature, and evidence and rules
never read them (:data:`EVIDENCE_SETS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

import pandas as pd

from vietser.errors import ConfigError

FeatureSetName = Literal["egemaps", "prosody", "emobase", "compare"]
FEATURE_SETS: tuple[FeatureSetName, ...] = ("egemaps", "prosody", "emobase", "compare")
# Extracted when no sets are named: what the default acoustic model reads.
DEFAULT_SETS: tuple[FeatureSetName, ...] = ("egemaps", "prosody", "emobase")
# Sets with human names and units: the only ones evidence cues and rules are written in.
EVIDENCE_SETS: tuple[FeatureSetName, ...] = ("egemaps", "prosody")
Z_PREFIX = "z."
# ``spread.<column>``: log standard deviation of a column over the speaker's own clips. Only
# columns in dB or semitones, whose spread a recording gain leaves unchanged: arousal
# widens it, so it tells a speaker who is calm in every clip from one whose clips vary.
SPREAD_PREFIX = "spread."
SPREAD_FEATURES: tuple[str, ...] = (
    "egemaps.F0semitoneFrom27.5Hz_sma3nz_amean",
    "egemaps.F0semitoneFrom27.5Hz_sma3nz_stddevNorm",
    "egemaps.HNRdBACF_sma3nz_amean",
    "egemaps.alphaRatioV_sma3nz_amean",
    "egemaps.hammarbergIndexV_sma3nz_amean",
    "prosody.intensity_mean_db",
    "prosody.f0_range_st",
)
Group = Literal["pitch", "loudness", "rate", "voice quality", "spectral", "formant"]


@dataclass(frozen=True)
class FeatureInfo:
    """What one feature column measures. ``group`` "rate" covers tempo, segment timing and pauses."""

    column: str
    name: str
    name_vi: str
    unit: str
    description: str
    description_vi: str
    group: Group


@dataclass(frozen=True)
class _Term:
    name: str
    name_vi: str
    unit: str
    group: Group
    text: str
    text_vi: str


def describe(column: str) -> FeatureInfo:
    """Describe a feature column (``egemaps.*``, ``prosody.*``, ``emobase.*``, ``compare.*`` or ``z.*``).

    Raises:
        KeyError: the column is not a vietser feature column.
    """
    return _describe(column)


def feature_columns(
    frame: pd.DataFrame, sets: tuple[str, ...] = FEATURE_SETS, normalised: bool = False
) -> list[str]:
    """The frame's columns of the given feature sets, raw or ``z.``, in frame order."""
    unknown = sorted(set(sets) - set(FEATURE_SETS))
    if unknown:
        raise ConfigError(f"unknown feature set(s) {unknown}; choose from {list(FEATURE_SETS)}")
    prefixes = tuple((Z_PREFIX if normalised else "") + name + "." for name in sets)
    return [column for column in frame.columns if column.startswith(prefixes)]


@cache
def _describe(column: str) -> FeatureInfo:
    if column.startswith(Z_PREFIX):
        raw = _describe(column[len(Z_PREFIX) :])
        return replace(
            raw,
            column=column,
            name=f"{raw.name} (speaker-normalised)",
            name_vi=f"{raw.name_vi} (chuẩn hoá theo người nói)",
            unit="SD",
            description=(
                f"{raw.description.rstrip('.')}, as a z-score against the speaker's own clips "
                "(corpus statistics for speakers with few clips)."
            ),
            description_vi=(
                f"{raw.description_vi.rstrip('.')}, dạng điểm z so với các đoạn của chính người nói "
                "(dùng thống kê toàn kho dữ liệu khi người nói có ít đoạn)."
            ),
        )
    set_name, _, feature = column.partition(".")
    if set_name == "prosody" and feature in _PROSODY:
        term = _PROSODY[feature]
        return FeatureInfo(column, term.name, term.name_vi, term.unit, term.text, term.text_vi, term.group)
    if set_name == "egemaps":
        return _describe_egemaps(column, feature)
    if set_name in FEATURE_SETS and set_name not in EVIDENCE_SETS and feature:
        return _describe_wide(column, set_name, feature)
    raise KeyError(
        f"unknown feature column {column!r}; expected one of {', '.join(f'{name}.*' for name in FEATURE_SETS)} "
        "or z.<one of those>"
    )


_WIDE_GROUPS: tuple[tuple[tuple[str, ...], Group], ...] = (
    (("f0", "voicing", "voiceprob"), "pitch"),
    (("jitter", "shimmer", "hnr"), "voice quality"),
    (("intensity", "loudness", "energy", "rms"), "loudness"),
)


def _describe_wide(column: str, set_name: str, feature: str) -> FeatureInfo:
    """A generic entry for a feature of a wide openSMILE set: its openSMILE name, grouped by descriptor."""
    lowered = feature.lower()
    group: Group = next((g for keys, g in _WIDE_GROUPS if any(key in lowered for key in keys)), "spectral")
    return FeatureInfo(
        column=column,
        name=feature,
        name_vi=feature,
        unit="",
        description=f"openSMILE {set_name} functional {feature} (acoustic model input, not used as evidence).",
        description_vi=f"Đặc trưng {feature} của bộ openSMILE {set_name} (đầu vào mô hình âm học, không dùng làm bằng chứng).",
        group=group,
    )


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


_PROSODY: dict[str, _Term] = {
    "f0_mean_hz": _Term(
        "mean pitch (Hz)", "cao độ trung bình (Hz)", "Hz", "pitch",
        "Mean F0 of voiced frames (Praat, 75–600 Hz).",
        "F0 trung bình của các khung hữu thanh (Praat, 75–600 Hz).",
    ),
    "f0_mean_st": _Term(
        "mean pitch (semitones)", "cao độ trung bình (nửa cung)", "st", "pitch",
        "Mean F0 of voiced frames in semitones above 27.5 Hz.",
        "F0 trung bình của các khung hữu thanh, tính bằng nửa cung so với 27,5 Hz.",
    ),
    "f0_median_st": _Term(
        "median pitch", "cao độ trung vị", "st", "pitch",
        "Median F0 of voiced frames in semitones above 27.5 Hz.",
        "Trung vị F0 của các khung hữu thanh, tính bằng nửa cung so với 27,5 Hz.",
    ),
    "f0_range_st": _Term(
        "pitch range", "khoảng cao độ", "st", "pitch",
        "Spread of F0 between its 5th and 95th percentile.",
        "Khoảng F0 giữa bách phân vị 5 và 95.",
    ),
    "f0_slope_st_per_s": _Term(
        "pitch slope", "độ dốc cao độ", "st/s", "pitch",
        "Linear-regression slope of F0 over time (negative = falling).",
        "Độ dốc hồi quy tuyến tính của F0 theo thời gian (âm = đi xuống).",
    ),
    "intensity_mean_db": _Term(
        "mean intensity", "cường độ trung bình", "dB", "loudness",
        "Energy-averaged intensity of the sounding frames.",
        "Cường độ trung bình theo năng lượng của các khung có tiếng.",
    ),
    "intensity_range_db": _Term(
        "intensity range", "khoảng cường độ", "dB", "loudness",
        "Spread of intensity between its 5th and 95th percentile over the sounding frames.",
        "Khoảng cường độ giữa bách phân vị 5 và 95 của các khung có tiếng.",
    ),
    "jitter_local": _Term(
        "jitter", "jitter (dao động chu kỳ)", "", "voice quality",
        "Mean difference between consecutive glottal periods, relative to the mean period.",
        "Chênh lệch trung bình giữa các chu kỳ thanh môn liền kề, so với chu kỳ trung bình.",
    ),
    "shimmer_local": _Term(
        "shimmer", "shimmer (dao động biên độ)", "", "voice quality",
        "Mean difference between the amplitudes of consecutive periods, relative to the mean amplitude.",
        "Chênh lệch trung bình giữa biên độ các chu kỳ liền kề, so với biên độ trung bình.",
    ),
    "hnr_db": _Term(
        "harmonics-to-noise ratio", "tỉ số hài trên nhiễu", "dB", "voice quality",
        "Mean harmonicity of the voiced frames; low values mean a breathy or rough voice.",
        "Độ hài trung bình của các khung hữu thanh; giá trị thấp là giọng thở hoặc khàn.",
    ),
    "voiced_fraction": _Term(
        "voiced fraction", "tỉ lệ hữu thanh", "", "rate",
        "Fraction of the utterance's pitch frames that are voiced.",
        "Tỉ lệ khung hữu thanh trong phát ngôn.",
    ),
    "speech_rate": _Term(
        "speaking rate", "tốc độ nói", "syll/s", "rate",
        "Syllable nuclei per second of utterance (De Jong & Wempe 2009).",
        "Số hạt nhân âm tiết mỗi giây phát ngôn (De Jong & Wempe 2009).",
    ),
    "pause_ratio": _Term(
        "pause ratio", "tỉ lệ ngừng", "", "rate",
        "Fraction of the utterance spent in silent pauses of at least 0.2 s.",
        "Tỉ lệ thời gian phát ngôn nằm trong các khoảng lặng từ 0,2 s trở lên.",
    ),
}

# eGeMAPS features that are not "<descriptor>_<smoothing>_<functional>".
_EGEMAPS_WHOLE: dict[str, _Term] = {
    "loudnessPeaksPerSec": _Term(
        "loudness peaks per second", "số đỉnh độ to mỗi giây", "1/s", "rate",
        "Rate of loudness peaks, a proxy for syllable rate (eGeMAPS).",
        "Tần suất đỉnh độ to, xấp xỉ tốc độ âm tiết (eGeMAPS).",
    ),
    "VoicedSegmentsPerSec": _Term(
        "voiced segments per second", "số đoạn hữu thanh mỗi giây", "1/s", "rate",
        "Number of continuous voiced stretches per second (eGeMAPS).",
        "Số đoạn hữu thanh liên tục mỗi giây (eGeMAPS).",
    ),
    "MeanVoicedSegmentLengthSec": _Term(
        "voiced segment length, mean", "độ dài đoạn hữu thanh, trung bình", "s", "rate",
        "Mean length of continuous voiced stretches (eGeMAPS).",
        "Độ dài trung bình của các đoạn hữu thanh liên tục (eGeMAPS).",
    ),
    "StddevVoicedSegmentLengthSec": _Term(
        "voiced segment length, standard deviation", "độ dài đoạn hữu thanh, độ lệch chuẩn",
        "s", "rate",
        "Standard deviation of the length of voiced stretches (eGeMAPS).",
        "Độ lệch chuẩn độ dài các đoạn hữu thanh (eGeMAPS).",
    ),
    "MeanUnvoicedSegmentLength": _Term(
        "unvoiced segment length, mean", "độ dài đoạn vô thanh, trung bình", "s", "rate",
        "Mean length of unvoiced stretches: consonants and pauses (eGeMAPS).",
        "Độ dài trung bình các đoạn vô thanh: phụ âm và khoảng ngừng (eGeMAPS).",
    ),
    "StddevUnvoicedSegmentLength": _Term(
        "unvoiced segment length, standard deviation", "độ dài đoạn vô thanh, độ lệch chuẩn",
        "s", "rate",
        "Standard deviation of the length of unvoiced stretches (eGeMAPS).",
        "Độ lệch chuẩn độ dài các đoạn vô thanh (eGeMAPS).",
    ),
    "equivalentSoundLevel_dBp": _Term(
        "equivalent sound level", "mức âm tương đương", "dB", "loudness",
        "Level of the mean energy over the clip (eGeMAPS).",
        "Mức năng lượng trung bình trên toàn đoạn (eGeMAPS).",
    ),
}

_DESCRIPTORS: dict[str, _Term] = {
    "F0semitoneFrom27.5Hz": _Term(
        "pitch", "cao độ", "st", "pitch",
        "fundamental frequency (F0) in semitones above 27.5 Hz",
        "tần số cơ bản (F0) tính bằng nửa cung so với 27,5 Hz",
    ),
    "loudness": _Term(
        "loudness", "độ to", "sone", "loudness",
        "perceived loudness from the auditory spectrum", "độ to cảm nhận tính từ phổ thính giác",
    ),
    "spectralFlux": _Term(
        "spectral flux", "biến thiên phổ", "", "spectral",
        "frame-to-frame change of the spectrum", "mức thay đổi phổ giữa các khung liền kề",
    ),
    "jitterLocal": _Term(
        "jitter", "jitter (dao động chu kỳ)", "", "voice quality",
        "period-to-period variation of the pitch period, relative to the mean period",
        "dao động giữa các chu kỳ cao độ liền kề, so với chu kỳ trung bình",
    ),
    "shimmerLocaldB": _Term(
        "shimmer", "shimmer (dao động biên độ)", "dB", "voice quality",
        "period-to-period variation of the peak amplitude",
        "dao động biên độ đỉnh giữa các chu kỳ liền kề",
    ),
    "HNRdBACF": _Term(
        "harmonics-to-noise ratio", "tỉ số hài trên nhiễu", "dB", "voice quality",
        "energy of the harmonic versus the noise part (autocorrelation)",
        "năng lượng phần hài so với phần nhiễu (tự tương quan)",
    ),
    "logRelF0-H1-H2": _Term(
        "H1–H2", "H1–H2", "dB", "voice quality",
        "level of the first minus the second harmonic (breathiness)",
        "mức hài thứ nhất trừ hài thứ hai (độ hơi của giọng)",
    ),
    "logRelF0-H1-A3": _Term(
        "H1–A3", "H1–A3", "dB", "voice quality",
        "level of the first harmonic minus the strongest harmonic near F3 (spectral tilt)",
        "mức hài thứ nhất trừ hài mạnh nhất gần F3 (độ nghiêng phổ)",
    ),
    "alphaRatio": _Term(
        "alpha ratio", "tỉ số alpha", "dB", "spectral",
        "energy in 50–1000 Hz relative to 1–5 kHz", "năng lượng dải 50–1000 Hz so với dải 1–5 kHz",
    ),
    "hammarbergIndex": _Term(
        "Hammarberg index", "chỉ số Hammarberg", "dB", "spectral",
        "strongest energy peak in 0–2 kHz relative to 2–5 kHz",
        "đỉnh năng lượng mạnh nhất dải 0–2 kHz so với dải 2–5 kHz",
    ),
}

_REGIONS = {
    "V": (" (voiced)", " (hữu thanh)", ", voiced frames", ", các khung hữu thanh"),
    "UV": (" (unvoiced)", " (vô thanh)", ", unvoiced frames", ", các khung vô thanh"),
    "nz": ("", "", ", voiced frames only", ", chỉ các khung hữu thanh"),
    "": ("", "", "", ""),
}

# functional -> (name, name_vi, text, text_vi, unit rule)
_FUNCTIONALS: dict[str, tuple[str, str, str, str, str]] = {
    "amean": ("mean", "trung bình", "mean", "giá trị trung bình", "same"),
    "stddevNorm": (
        "coefficient of variation", "hệ số biến thiên",
        "standard deviation divided by the mean", "độ lệch chuẩn chia cho trung bình", "none",
    ),
    "percentile20.0": ("20th percentile", "bách phân vị 20", "20th percentile", "bách phân vị 20", "same"),
    "percentile50.0": ("median", "trung vị", "median", "trung vị", "same"),
    "percentile80.0": ("80th percentile", "bách phân vị 80", "80th percentile", "bách phân vị 80", "same"),
    "pctlrange0-2": (
        "range (20th–80th percentile)", "khoảng (bách phân vị 20–80)",
        "spread between the 20th and 80th percentile", "khoảng giữa bách phân vị 20 và 80", "same",
    ),
    "meanRisingSlope": (
        "mean rising slope", "độ dốc đi lên trung bình",
        "mean slope of the rising stretches", "độ dốc trung bình của các đoạn đi lên", "per_s",
    ),
    "stddevRisingSlope": (
        "rising slope variability", "độ biến thiên độ dốc đi lên",
        "standard deviation of the slope of the rising stretches",
        "độ lệch chuẩn độ dốc của các đoạn đi lên", "per_s",
    ),
    "meanFallingSlope": (
        "mean falling slope", "độ dốc đi xuống trung bình",
        "mean slope of the falling stretches", "độ dốc trung bình của các đoạn đi xuống", "per_s",
    ),
    "stddevFallingSlope": (
        "falling slope variability", "độ biến thiên độ dốc đi xuống",
        "standard deviation of the slope of the falling stretches",
        "độ lệch chuẩn độ dốc của các đoạn đi xuống", "per_s",
    ),
}


def _descriptor(token: str) -> tuple[_Term, str]:
    """The low-level descriptor of an eGeMAPS name and its voicing region ("V", "UV" or "")."""
    if token in _DESCRIPTORS:
        return _DESCRIPTORS[token], ""
    if match := re.fullmatch(r"mfcc([1-4])(V?)", token):
        k = match[1]
        term = _Term(
            f"MFCC {k}", f"MFCC {k}", "", "spectral",
            f"mel-frequency cepstral coefficient {k} (shape of the spectral envelope)",
            f"hệ số cepstral tần số mel {k} (hình dạng đường bao phổ)",
        )
        return term, match[2]
    if match := re.fullmatch(r"F([1-3])(frequency|bandwidth|amplitudeLogRelF0)", token):
        return _formant(match[1], match[2]), ""
    if match := re.fullmatch(r"slope(V|UV)(\d+)-(\d+)", token):
        low, high = match[2], match[3]
        term = _Term(
            f"spectral slope {low}–{high} Hz", f"độ dốc phổ {low}–{high} Hz", "", "spectral",
            f"slope of the log power spectrum between {low} and {high} Hz",
            f"độ dốc của phổ công suất logarit trong dải {low}–{high} Hz",
        )
        return term, match[1]
    if match := re.fullmatch(r"(alphaRatio|hammarbergIndex|spectralFlux)(V|UV)", token):
        return _DESCRIPTORS[match[1]], match[2]
    raise KeyError(f"unknown eGeMAPS descriptor {token!r}")


def _formant(k: str, quantity: str) -> _Term:
    if quantity == "frequency":
        return _Term(
            f"F{k} frequency", f"tần số formant F{k}", "Hz", "formant",
            f"centre frequency of formant {k}", f"tần số trung tâm của formant {k}",
        )
    if quantity == "bandwidth":
        return _Term(
            f"F{k} bandwidth", f"băng thông formant F{k}", "Hz", "formant",
            f"bandwidth of formant {k}", f"băng thông của formant {k}",
        )
    return _Term(
        f"F{k} amplitude", f"biên độ formant F{k}", "dB", "formant",
        f"level of the harmonic nearest formant {k} relative to the F0 harmonic",
        f"mức của hài gần formant {k} nhất so với hài F0",
    )


def _describe_egemaps(column: str, feature: str) -> FeatureInfo:
    if feature in _EGEMAPS_WHOLE:
        term = _EGEMAPS_WHOLE[feature]
        return FeatureInfo(column, term.name, term.name_vi, term.unit, term.text, term.text_vi, term.group)
    parts = feature.split("_")
    if len(parts) != 3 or parts[1] not in ("sma3", "sma3nz") or parts[2] not in _FUNCTIONALS:
        raise KeyError(f"unknown eGeMAPS feature {feature!r} in column {column!r}")
    term, region = _descriptor(parts[0])
    if not region and parts[1] == "sma3nz":
        region = "nz"
    suffix, suffix_vi, scope, scope_vi = _REGIONS[region]
    name, name_vi, text, text_vi, unit_rule = _FUNCTIONALS[parts[2]]
    unit = {"same": term.unit, "none": "", "per_s": f"{term.unit}/s" if term.unit else "1/s"}[unit_rule]
    return FeatureInfo(
        column=column,
        name=f"{term.name}{suffix}, {name}",
        name_vi=f"{term.name_vi}{suffix_vi}, {name_vi}",
        unit=unit,
        description=f"{_capitalised(text)} of the {term.text}{scope} (eGeMAPS).",
        description_vi=f"{_capitalised(text_vi)} của {term.text_vi}{scope_vi} (eGeMAPS).",
        group=term.group,
    )
