"""The words for what features measure, English and Vietnamese: prosody entries, whole eGeMAPS features,
eGeMAPS low-level descriptors, voicing regions and functionals (read by :mod:`vietser.features.catalog`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Group = Literal["pitch", "loudness", "rate", "voice quality", "spectral", "formant"]


@dataclass(frozen=True)
class Term:
    name: str
    name_vi: str
    unit: str
    group: Group
    text: str
    text_vi: str


PROSODY: dict[str, Term] = {
    "f0_mean_hz": Term(
        "mean pitch (Hz)", "cao độ trung bình (Hz)", "Hz", "pitch",
        "Mean F0 of voiced frames (Praat, 75–600 Hz).",
        "F0 trung bình của các khung hữu thanh (Praat, 75–600 Hz).",
    ),
    "f0_mean_st": Term(
        "mean pitch (semitones)", "cao độ trung bình (nửa cung)", "st", "pitch",
        "Mean F0 of voiced frames in semitones above 27.5 Hz.",
        "F0 trung bình của các khung hữu thanh, tính bằng nửa cung so với 27,5 Hz.",
    ),
    "f0_median_st": Term(
        "median pitch", "cao độ trung vị", "st", "pitch",
        "Median F0 of voiced frames in semitones above 27.5 Hz.",
        "Trung vị F0 của các khung hữu thanh, tính bằng nửa cung so với 27,5 Hz.",
    ),
    "f0_range_st": Term(
        "pitch range", "khoảng cao độ", "st", "pitch",
        "Spread of F0 between its 5th and 95th percentile.",
        "Khoảng F0 giữa bách phân vị 5 và 95.",
    ),
    "f0_slope_st_per_s": Term(
        "pitch slope", "độ dốc cao độ", "st/s", "pitch",
        "Linear-regression slope of F0 over time (negative = falling).",
        "Độ dốc hồi quy tuyến tính của F0 theo thời gian (âm = đi xuống).",
    ),
    "intensity_mean_db": Term(
        "mean intensity", "cường độ trung bình", "dB", "loudness",
        "Energy-averaged intensity of the sounding frames.",
        "Cường độ trung bình theo năng lượng của các khung có tiếng.",
    ),
    "intensity_range_db": Term(
        "intensity range", "khoảng cường độ", "dB", "loudness",
        "Spread of intensity between its 5th and 95th percentile over the sounding frames.",
        "Khoảng cường độ giữa bách phân vị 5 và 95 của các khung có tiếng.",
    ),
    "jitter_local": Term(
        "jitter", "jitter (dao động chu kỳ)", "", "voice quality",
        "Mean difference between consecutive glottal periods, relative to the mean period.",
        "Chênh lệch trung bình giữa các chu kỳ thanh môn liền kề, so với chu kỳ trung bình.",
    ),
    "shimmer_local": Term(
        "shimmer", "shimmer (dao động biên độ)", "", "voice quality",
        "Mean difference between the amplitudes of consecutive periods, relative to the mean amplitude.",
        "Chênh lệch trung bình giữa biên độ các chu kỳ liền kề, so với biên độ trung bình.",
    ),
    "hnr_db": Term(
        "harmonics-to-noise ratio", "tỉ số hài trên nhiễu", "dB", "voice quality",
        "Mean harmonicity of the voiced frames; low values mean a breathy or rough voice.",
        "Độ hài trung bình của các khung hữu thanh; giá trị thấp là giọng thở hoặc khàn.",
    ),
    "voiced_fraction": Term(
        "voiced fraction", "tỉ lệ hữu thanh", "", "rate",
        "Fraction of the utterance's pitch frames that are voiced.",
        "Tỉ lệ khung hữu thanh trong phát ngôn.",
    ),
    "speech_rate": Term(
        "speaking rate", "tốc độ nói", "syll/s", "rate",
        "Syllable nuclei per second of utterance (De Jong & Wempe 2009).",
        "Số hạt nhân âm tiết mỗi giây phát ngôn (De Jong & Wempe 2009).",
    ),
    "pause_ratio": Term(
        "pause ratio", "tỉ lệ ngừng", "", "rate",
        "Fraction of the utterance spent in silent pauses of at least 0.2 s.",
        "Tỉ lệ thời gian phát ngôn nằm trong các khoảng lặng từ 0,2 s trở lên.",
    ),
}

# eGeMAPS features that are not "<descriptor>_<smoothing>_<functional>".
EGEMAPS_WHOLE: dict[str, Term] = {
    "loudnessPeaksPerSec": Term(
        "loudness peaks per second", "số đỉnh độ to mỗi giây", "1/s", "rate",
        "Rate of loudness peaks, a proxy for syllable rate (eGeMAPS).",
        "Tần suất đỉnh độ to, xấp xỉ tốc độ âm tiết (eGeMAPS).",
    ),
    "VoicedSegmentsPerSec": Term(
        "voiced segments per second", "số đoạn hữu thanh mỗi giây", "1/s", "rate",
        "Number of continuous voiced stretches per second (eGeMAPS).",
        "Số đoạn hữu thanh liên tục mỗi giây (eGeMAPS).",
    ),
    "MeanVoicedSegmentLengthSec": Term(
        "voiced segment length, mean", "độ dài đoạn hữu thanh, trung bình", "s", "rate",
        "Mean length of continuous voiced stretches (eGeMAPS).",
        "Độ dài trung bình của các đoạn hữu thanh liên tục (eGeMAPS).",
    ),
    "StddevVoicedSegmentLengthSec": Term(
        "voiced segment length, standard deviation", "độ dài đoạn hữu thanh, độ lệch chuẩn",
        "s", "rate",
        "Standard deviation of the length of voiced stretches (eGeMAPS).",
        "Độ lệch chuẩn độ dài các đoạn hữu thanh (eGeMAPS).",
    ),
    "MeanUnvoicedSegmentLength": Term(
        "unvoiced segment length, mean", "độ dài đoạn vô thanh, trung bình", "s", "rate",
        "Mean length of unvoiced stretches: consonants and pauses (eGeMAPS).",
        "Độ dài trung bình các đoạn vô thanh: phụ âm và khoảng ngừng (eGeMAPS).",
    ),
    "StddevUnvoicedSegmentLength": Term(
        "unvoiced segment length, standard deviation", "độ dài đoạn vô thanh, độ lệch chuẩn",
        "s", "rate",
        "Standard deviation of the length of unvoiced stretches (eGeMAPS).",
        "Độ lệch chuẩn độ dài các đoạn vô thanh (eGeMAPS).",
    ),
    "equivalentSoundLevel_dBp": Term(
        "equivalent sound level", "mức âm tương đương", "dB", "loudness",
        "Level of the mean energy over the clip (eGeMAPS).",
        "Mức năng lượng trung bình trên toàn đoạn (eGeMAPS).",
    ),
}

DESCRIPTORS: dict[str, Term] = {
    "F0semitoneFrom27.5Hz": Term(
        "pitch", "cao độ", "st", "pitch",
        "fundamental frequency (F0) in semitones above 27.5 Hz",
        "tần số cơ bản (F0) tính bằng nửa cung so với 27,5 Hz",
    ),
    "loudness": Term(
        "loudness", "độ to", "sone", "loudness",
        "perceived loudness from the auditory spectrum", "độ to cảm nhận tính từ phổ thính giác",
    ),
    "spectralFlux": Term(
        "spectral flux", "biến thiên phổ", "", "spectral",
        "frame-to-frame change of the spectrum", "mức thay đổi phổ giữa các khung liền kề",
    ),
    "jitterLocal": Term(
        "jitter", "jitter (dao động chu kỳ)", "", "voice quality",
        "period-to-period variation of the pitch period, relative to the mean period",
        "dao động giữa các chu kỳ cao độ liền kề, so với chu kỳ trung bình",
    ),
    "shimmerLocaldB": Term(
        "shimmer", "shimmer (dao động biên độ)", "dB", "voice quality",
        "period-to-period variation of the peak amplitude",
        "dao động biên độ đỉnh giữa các chu kỳ liền kề",
    ),
    "HNRdBACF": Term(
        "harmonics-to-noise ratio", "tỉ số hài trên nhiễu", "dB", "voice quality",
        "energy of the harmonic versus the noise part (autocorrelation)",
        "năng lượng phần hài so với phần nhiễu (tự tương quan)",
    ),
    "logRelF0-H1-H2": Term(
        "H1–H2", "H1–H2", "dB", "voice quality",
        "level of the first minus the second harmonic (breathiness)",
        "mức hài thứ nhất trừ hài thứ hai (độ hơi của giọng)",
    ),
    "logRelF0-H1-A3": Term(
        "H1–A3", "H1–A3", "dB", "voice quality",
        "level of the first harmonic minus the strongest harmonic near F3 (spectral tilt)",
        "mức hài thứ nhất trừ hài mạnh nhất gần F3 (độ nghiêng phổ)",
    ),
    "alphaRatio": Term(
        "alpha ratio", "tỉ số alpha", "dB", "spectral",
        "energy in 50–1000 Hz relative to 1–5 kHz", "năng lượng dải 50–1000 Hz so với dải 1–5 kHz",
    ),
    "hammarbergIndex": Term(
        "Hammarberg index", "chỉ số Hammarberg", "dB", "spectral",
        "strongest energy peak in 0–2 kHz relative to 2–5 kHz",
        "đỉnh năng lượng mạnh nhất dải 0–2 kHz so với dải 2–5 kHz",
    ),
}

REGIONS = {
    "V": (" (voiced)", " (hữu thanh)", ", voiced frames", ", các khung hữu thanh"),
    "UV": (" (unvoiced)", " (vô thanh)", ", unvoiced frames", ", các khung vô thanh"),
    "nz": ("", "", ", voiced frames only", ", chỉ các khung hữu thanh"),
    "": ("", "", "", ""),
}

# functional -> (name, name_vi, text, text_vi, unit rule)
FUNCTIONALS: dict[str, tuple[str, str, str, str, str]] = {
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
