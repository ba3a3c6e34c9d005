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
from vietser.features.terms import DESCRIPTORS, EGEMAPS_WHOLE, FUNCTIONALS, PROSODY, REGIONS, Group, Term

# An extracted feature set: the ``<name>.*`` columns the extractor computes and caches per clip. What one
# acoustic model reads is a view of these sets (vietser.acoustic.config.FeatureView).
FeatureSetName = Literal["egemaps", "prosody", "emobase", "compare"]
FEATURE_SETS: tuple[FeatureSetName, ...] = ("egemaps", "prosody", "emobase", "compare")
# Extracted when no sets are named: what the default acoustic model reads.
DEFAULT_SETS: tuple[FeatureSetName, ...] = ("egemaps", "prosody", "emobase")
# Sets with human names and units: the only ones evidence cues and rules are written in.
EVIDENCE_SETS: tuple[FeatureSetName, ...] = ("egemaps", "prosody")
# The descriptor groups a clip can be read by without a baseline of its speaker or channel. Loudness
# follows the gain and the distance to the microphone, spectral shape (MFCCs, tilt, alpha ratio, flux)
# the microphone, codec and room; read absolutely, these carried RAVDESS's studio into every other
# corpus (a model on all eGeMAPS + prosody columns of single clips called 0 % of EmoDB's calm clips calm
# and 2 of 22 ordinary Vietnamese clips). Rate (tempo, segment timing, pauses) is an arousal cue against
# the speaker's own tempo, but read absolutely it measures the language and the text: syllable rates
# differ between languages (Pellegrino, Coupé & Marsico 2011) and between read and spontaneous speech,
# and German read sentences ran 1.5 SD faster than RAVDESS's calm ones, so the model read EmoDB's calm
# clips as panic. Pitch, voice quality and formants are the voice's own.
VOICE_GROUPS: tuple[Group, ...] = ("pitch", "voice quality", "formant")
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
    if set_name == "prosody" and feature in PROSODY:
        term = PROSODY[feature]
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


def _descriptor(token: str) -> tuple[Term, str]:
    """The low-level descriptor of an eGeMAPS name and its voicing region ("V", "UV" or "")."""
    if token in DESCRIPTORS:
        return DESCRIPTORS[token], ""
    if match := re.fullmatch(r"mfcc([1-4])(V?)", token):
        k = match[1]
        term = Term(
            f"MFCC {k}", f"MFCC {k}", "", "spectral",
            f"mel-frequency cepstral coefficient {k} (shape of the spectral envelope)",
            f"hệ số cepstral tần số mel {k} (hình dạng đường bao phổ)",
        )
        return term, match[2]
    if match := re.fullmatch(r"F([1-3])(frequency|bandwidth|amplitudeLogRelF0)", token):
        return _formant(match[1], match[2]), ""
    if match := re.fullmatch(r"slope(V|UV)(\d+)-(\d+)", token):
        low, high = match[2], match[3]
        term = Term(
            f"spectral slope {low}–{high} Hz", f"độ dốc phổ {low}–{high} Hz", "", "spectral",
            f"slope of the log power spectrum between {low} and {high} Hz",
            f"độ dốc của phổ công suất logarit trong dải {low}–{high} Hz",
        )
        return term, match[1]
    if match := re.fullmatch(r"(alphaRatio|hammarbergIndex|spectralFlux)(V|UV)", token):
        return DESCRIPTORS[match[1]], match[2]
    raise KeyError(f"unknown eGeMAPS descriptor {token!r}")


def _formant(k: str, quantity: str) -> Term:
    if quantity == "frequency":
        return Term(
            f"F{k} frequency", f"tần số formant F{k}", "Hz", "formant",
            f"centre frequency of formant {k}", f"tần số trung tâm của formant {k}",
        )
    if quantity == "bandwidth":
        return Term(
            f"F{k} bandwidth", f"băng thông formant F{k}", "Hz", "formant",
            f"bandwidth of formant {k}", f"băng thông của formant {k}",
        )
    return Term(
        f"F{k} amplitude", f"biên độ formant F{k}", "dB", "formant",
        f"level of the harmonic nearest formant {k} relative to the F0 harmonic",
        f"mức của hài gần formant {k} nhất so với hài F0",
    )


def _describe_egemaps(column: str, feature: str) -> FeatureInfo:
    if feature in EGEMAPS_WHOLE:
        term = EGEMAPS_WHOLE[feature]
        return FeatureInfo(column, term.name, term.name_vi, term.unit, term.text, term.text_vi, term.group)
    parts = feature.split("_")
    if len(parts) != 3 or parts[1] not in ("sma3", "sma3nz") or parts[2] not in FUNCTIONALS:
        raise KeyError(f"unknown eGeMAPS feature {feature!r} in column {column!r}")
    term, region = _descriptor(parts[0])
    if not region and parts[1] == "sma3nz":
        region = "nz"
    suffix, suffix_vi, scope, scope_vi = REGIONS[region]
    name, name_vi, text, text_vi, unit_rule = FUNCTIONALS[parts[2]]
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
