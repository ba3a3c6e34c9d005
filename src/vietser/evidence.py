"""Per-clip evidence: every feature value and the few interpretable cues that drove the decision.

A cue is one interpretable measurement (speaking rate, pitch level,
loudness, voice quality…) read against the speaker's own baseline (its
``z.`` score). Cues are ranked by how unusual the value is for the speaker
and by how much the model relied on it (occlusion attribution), and each
says which class's typical range it falls in, learned from training rows
(:class:`ClassProfiles`).

Example:
    >>> profiles = fit_class_profiles(train_frame)  # doctest: +SKIP
    >>> proba = model.predict_proba  # doctest: +SKIP
    >>> evidence = build_evidence(dev_frame, proba(dev_frame), profiles, proba)  # doctest: +SKIP
    >>> evidence[0].cues[0].text_en  # doctest: +SKIP
    "Speaking rate 6.1 syll/s, +2.0 SD vs this speaker's baseline (fast) → supports panic"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from vietser.decision import ClipEvidence, Cue
from vietser.features.catalog import EVIDENCE_SETS, Z_PREFIX, describe
from vietser.features.normalize import has_speaker_baseline
from vietser.labels import CLASSES, VIETNAMESE_NAMES
from vietser.numerals import Language, number

PredictProba = Callable[[pd.DataFrame], np.ndarray]

# A cue this close to the speaker's baseline (in SD) supports no class.
NEAR_BASELINE_Z = 0.5
# What a z-score was measured against, in English and Vietnamese.
SPEAKER_BASELINE = ("this speaker's baseline", "mức thường của người nói")
# A speaker whose clips hardly vary: the clip was decided with the others of its speaker
# (vietser.acoustic.inference.read_as_one).
READ_AS_ONE_BASELINE = (
    "this speaker's baseline (their clips hardly vary: read together, by the speaker's class mix)",
    "mức thường của người nói (các mẫu của người này ít thay đổi: được đọc chung, theo tỉ lệ các lớp của người nói)",
)
REFERENCE_BASELINE = (
    "the reference recordings given for this speaker or channel, as calm speech",
    "các bản ghi tham chiếu của người nói hoặc kênh này, coi là giọng bình tĩnh",
)
# Rows read against explicit reference recordings (``vietser predict --reference``) carry this column, True.
REFERENCE_COLUMN = "reference"
CORPUS_BASELINE = ("the corpus baseline (too few clips of this speaker)", "mức chung của kho dữ liệu (quá ít mẫu của người nói)")
# Floor on a class's spread when measuring how typical a z-score is for it.
MIN_PROFILE_STD = 0.25
# Attribution (probability drop) and |z| at which each half of the ranking score reaches 0.5.
ATTRIBUTION_SCALE = 0.05
Z_SCALE = 1.0


@dataclass(frozen=True)
class CueConcept:
    """One interpretable quantity, measured by one or more columns; the strongest one speaks for it."""

    columns: tuple[str, ...]
    high_en: str
    low_en: str
    high_vi: str
    low_vi: str


CUE_CONCEPTS: dict[str, CueConcept] = {
    "speaking rate": CueConcept(
        ("prosody.speech_rate", "egemaps.loudnessPeaksPerSec"), "fast", "slow", "nhanh", "chậm"
    ),
    "voiced bursts": CueConcept(("egemaps.VoicedSegmentsPerSec",), "frequent", "sparse", "dày", "thưa"),
    "pausing": CueConcept(
        ("prosody.pause_ratio", "egemaps.MeanUnvoicedSegmentLength"),
        "more pausing", "less pausing", "ngừng nhiều", "ngừng ít",
    ),
    "pitch level": CueConcept(
        ("prosody.f0_mean_st", "egemaps.F0semitoneFrom27.5Hz_sma3nz_amean"), "high", "low", "cao", "thấp"
    ),
    "pitch range": CueConcept(
        ("prosody.f0_range_st", "egemaps.F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2"), "wide", "narrow", "rộng", "hẹp"
    ),
    "pitch variability": CueConcept(
        ("egemaps.F0semitoneFrom27.5Hz_sma3nz_stddevNorm",), "unsteady", "steady", "dao động nhiều", "ổn định"
    ),
    "pitch slope": CueConcept(("prosody.f0_slope_st_per_s",), "rising", "falling", "đi lên", "đi xuống"),
    "loudness": CueConcept(
        ("egemaps.loudness_sma3_amean", "prosody.intensity_mean_db", "egemaps.equivalentSoundLevel_dBp"),
        "loud", "quiet", "to", "nhỏ",
    ),
    "loudness range": CueConcept(
        ("prosody.intensity_range_db", "egemaps.loudness_sma3_pctlrange0-2"), "varied", "flat", "biến động", "đều"
    ),
    "jitter": CueConcept(
        ("prosody.jitter_local", "egemaps.jitterLocal_sma3nz_amean"), "unsteady", "steady", "kém ổn định", "ổn định"
    ),
    "shimmer": CueConcept(
        ("prosody.shimmer_local", "egemaps.shimmerLocaldB_sma3nz_amean"), "unsteady", "steady", "kém ổn định", "ổn định"
    ),
    "harmonicity": CueConcept(
        ("prosody.hnr_db", "egemaps.HNRdBACF_sma3nz_amean"), "clear voice", "rough or breathy voice",
        "giọng trong", "giọng khàn hoặc hơi",
    ),
    "alpha ratio": CueConcept(("egemaps.alphaRatioV_sma3nz_amean",), "high", "low", "cao", "thấp"),
    "Hammarberg index": CueConcept(("egemaps.hammarbergIndexV_sma3nz_amean",), "high", "low", "cao", "thấp"),
    "spectral slope": CueConcept(
        ("egemaps.slopeV0-500_sma3nz_amean", "egemaps.slopeV500-1500_sma3nz_amean"), "high", "low", "cao", "thấp"
    ),
}

_UNITS_VI = {"syll/s": "âm tiết/giây", "1/s": "lần/giây", "st": "nửa cung", "st/s": "nửa cung/giây", "s": "giây"}


class ClassProfiles(BaseModel):
    """Each class's typical speaker-relative range per feature, learned on training rows.

    ``mean[class][column]`` and ``std[class][column]`` describe the ``z.``
    scores of ``column`` (a raw column name) among training clips of that
    class; ``corpus_mean[column]`` is the raw training mean, the neutral value
    used for occlusion. Save with ``model_dump_json()``, load with
    ``ClassProfiles.model_validate_json(text)``.
    """

    model_config = ConfigDict(extra="forbid")

    columns: list[str]
    mean: dict[str, dict[str, float]]
    std: dict[str, dict[str, float]]
    count: dict[str, int]
    corpus_mean: dict[str, float]


def fit_class_profiles(
    frame: pd.DataFrame, columns: Sequence[str] | None = None, label_column: str = "label"
) -> ClassProfiles:
    """Per class, mean and standard deviation of each feature's ``z.`` score, plus raw corpus means.

    Args:
        frame: training rows of the features table (raw and ``z.`` columns, labels).
        columns: raw (or ``z.``) feature columns; default every raw column that has a ``z.`` twin.

    Raises:
        ValueError: a column has no ``z.`` twin, or no row carries one of CLASSES.
    """
    raw = _raw_columns(frame, columns)
    if label_column not in frame.columns:
        raise ValueError(f"the frame has no {label_column!r} column; pass labelled training rows")
    labelled = frame[frame[label_column].isin(CLASSES)]
    if labelled.empty:
        raise ValueError(f"no training row is labelled with one of {list(CLASSES)}")
    z = labelled[[Z_PREFIX + column for column in raw]].astype(float).set_axis(raw, axis=1)
    groups = z.groupby(labelled[label_column].to_numpy())
    means, stds = groups.mean(), groups.std(ddof=0)
    present = [name for name in CLASSES if name in means.index]
    return ClassProfiles(
        columns=raw,
        mean={name: _finite_dict(means.loc[name]) for name in present},
        std={name: _finite_dict(stds.loc[name]) for name in present},
        count={name: int(groups.size()[name]) for name in present},
        corpus_mean=_finite_dict(labelled[raw].astype(float).mean()),
    )


def build_evidence(
    frame: pd.DataFrame,
    probabilities: np.ndarray,
    profiles: ClassProfiles,
    predict_proba: PredictProba | None = None,
    top_k: int = 5,
    min_clips_per_speaker: int = 5,
    read_as_one: np.ndarray | None = None,
) -> list[ClipEvidence]:
    """Evidence for every clip of ``frame``: all raw and z values, and its ``top_k`` strongest cues.

    Args:
        frame: features table rows (``clip_id``, raw and ``z.`` columns).
        probabilities: shape (len(frame), len(CLASSES)); the decided class is
            the argmax, and attribution is measured for it.
        profiles: from :func:`fit_class_profiles` on the training rows.
        predict_proba: the model, for occlusion attribution; without it cues
            are ranked by |z| alone and ``attribution`` is 0.
        min_clips_per_speaker: as in normalisation; clips of speakers with fewer
            (or no speaker id) were z-scored against corpus statistics, and their
            text says so.
        read_as_one: True for rows decided together with the other clips of their speaker
            (:func:`~vietser.acoustic.inference.read_as_one`); their text says so.

    ``values`` and ``z`` are keyed by raw column name and omit missing (NaN) values.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    if "clip_id" not in frame.columns:
        raise ValueError("the frame has no 'clip_id' column; pass rows of the features table")
    if probabilities.shape != (len(frame), len(CLASSES)):
        raise ValueError(
            f"probabilities have shape {probabilities.shape}; expected ({len(frame)}, {len(CLASSES)}) in CLASSES order"
        )
    concepts = _available_concepts(frame)
    attribution = np.zeros((len(frame), len(concepts)))
    if predict_proba is not None and concepts:
        groups = {name: _concept_columns(frame, concept) for name, concept in concepts.items()}
        baseline = {column: 0.0 for column in frame.columns if str(column).startswith(Z_PREFIX)}
        baseline |= profiles.corpus_mean
        attribution = occlusion_attribution(frame, predict_proba, groups, baseline, probabilities.argmax(axis=1))
    raw = [c for c in frame.columns if str(c).startswith(tuple(f"{s}." for s in EVIDENCE_SETS))]
    zcols = [c for c in raw if Z_PREFIX + c in frame.columns]
    raw_values = frame[raw].astype(float).to_numpy()
    z_values = frame[[Z_PREFIX + c for c in zcols]].astype(float).to_numpy()
    own_baseline = has_speaker_baseline(frame, min_clips_per_speaker).to_numpy()
    against_reference = (
        frame[REFERENCE_COLUMN].fillna(False).to_numpy(dtype=bool)
        if REFERENCE_COLUMN in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    together = np.zeros(len(frame), dtype=bool) if read_as_one is None else np.asarray(read_as_one, dtype=bool)
    evidence = []
    for i, clip_id in enumerate(frame["clip_id"].astype(str)):
        values = _finite_items(raw, raw_values[i])
        z = _finite_items(zcols, z_values[i])
        baseline = (
            REFERENCE_BASELINE
            if against_reference[i]
            else READ_AS_ONE_BASELINE
            if together[i]
            else SPEAKER_BASELINE
            if own_baseline[i]
            else CORPUS_BASELINE
        )
        cues = _rank_cues(concepts, values, z, attribution[i], profiles, top_k, baseline)
        evidence.append(ClipEvidence(clip_id=clip_id, values=values, z=z, cues=cues))
    return evidence


def occlusion_attribution(
    frame: pd.DataFrame,
    predict_proba: PredictProba,
    groups: Mapping[str, Sequence[str]],
    baseline: Mapping[str, float],
    target: np.ndarray,
    max_rows: int = 20_000,
) -> np.ndarray:
    """Drop in each clip's ``target``-class probability when one group of columns is set to its baseline.

    Returns shape (len(frame), len(groups)); positive means the group pushed
    the model towards ``target``. Columns without a baseline are left as they are.
    """
    names = list(groups)
    copies = len(names) + 1
    positions = [[frame.columns.get_loc(c) for c in groups[name] if c in baseline] for name in names]
    fills = [np.array([baseline[frame.columns[p]] for p in pos], dtype=float) for pos in positions]
    out = np.zeros((len(frame), len(names)))
    per_chunk = max(1, max_rows // copies)
    for start in range(0, len(frame), per_chunk):
        chunk = frame.iloc[start : start + per_chunk]
        m = len(chunk)
        block = chunk.iloc[np.repeat(np.arange(m), copies)].reset_index(drop=True)
        for j, (pos, fill) in enumerate(zip(positions, fills), start=1):
            if pos:
                block.iloc[np.arange(m) * copies + j, pos] = np.broadcast_to(fill, (m, len(pos)))
        proba = np.asarray(predict_proba(block), dtype=float).reshape(m, copies, -1)
        kept = proba[np.arange(m), :, target[start : start + m]]
        out[start : start + m] = kept[:, :1] - kept[:, 1:]
    return out


def _rank_cues(
    concepts: Mapping[str, CueConcept],
    values: Mapping[str, float],
    z: Mapping[str, float],
    attribution: np.ndarray,
    profiles: ClassProfiles,
    top_k: int,
    baseline: tuple[str, str],
) -> list[Cue]:
    """One cue per concept (its column with the largest |z|), strongest first."""
    scored = []
    for concept, contribution in zip(concepts.values(), attribution):
        columns = [c for c in concept.columns if c in values and c in z]
        if not columns:
            continue
        column = max(columns, key=lambda c: abs(z[c]))
        strength = abs(z[column]) / (abs(z[column]) + Z_SCALE)
        strength += abs(contribution) / (abs(contribution) + ATTRIBUTION_SCALE)
        scored.append((strength, column, concept, float(contribution)))
    scored.sort(key=lambda item: -item[0])
    return [
        _cue(column, concept, values[column], z[column], a, profiles, baseline)
        for _, column, concept, a in scored[:top_k]
    ]


def _cue(
    column: str,
    concept: CueConcept,
    value: float,
    z: float,
    attribution: float,
    profiles: ClassProfiles,
    baseline: tuple[str, str],
) -> Cue:
    info = describe(column)
    high = z >= 0
    supports = supported_class(profiles, column, z)
    adjective_en = concept.high_en if high else concept.low_en
    adjective_vi = concept.high_vi if high else concept.low_vi
    if abs(z) < NEAR_BASELINE_Z:
        adjective_en, adjective_vi = "typical", "bình thường"
    unit_vi = _UNITS_VI.get(info.unit, info.unit)
    text_en = (
        f"{_capitalised(info.name)} {_with_unit(_measured(value, 'en'), info.unit)}, "
        f"{z:+.1f} SD vs {baseline[0]} ({adjective_en})"
    )
    text_vi = (
        f"{_capitalised(info.name_vi)} {_with_unit(_measured(value, 'vi'), unit_vi)}, "
        f"{number(z, '+.1f', 'vi')} SD so với {baseline[1]} ({adjective_vi})"
    )
    if supports is not None:
        text_en += f" → supports {supports}"
        text_vi += f" → nghiêng về {VIETNAMESE_NAMES[supports]}"
    return Cue(
        feature=column,
        name=info.name,
        value=value,
        unit=info.unit,
        z=z,
        direction="high" if high else "low",
        supports=supports,
        attribution=attribution,
        text_en=text_en,
        text_vi=text_vi,
    )


def supported_class(profiles: ClassProfiles, column: str, z: float) -> str | None:
    """The class whose typical z range for ``column`` fits ``z`` best, or None near baseline.

    None also when the best-fitting class's mean lies on the other side of
    the speaker's baseline: the cue does not point towards it.
    """
    if abs(z) < NEAR_BASELINE_Z:
        return None
    fits = {
        name: abs(z - means[column]) / max(profiles.std[name].get(column, 0.0), MIN_PROFILE_STD)
        for name, means in profiles.mean.items()
        if column in means
    }
    if not fits:
        return None
    best = min(fits, key=fits.__getitem__)
    return best if profiles.mean[best][column] * z > 0 else None


def _available_concepts(frame: pd.DataFrame) -> dict[str, CueConcept]:
    return {name: c for name, c in CUE_CONCEPTS.items() if any(_has_both(frame, col) for col in c.columns)}


def _concept_columns(frame: pd.DataFrame, concept: CueConcept) -> list[str]:
    """The concept's raw and ``z.`` columns present in the frame."""
    candidates = [c for column in concept.columns for c in (column, Z_PREFIX + column)]
    return [c for c in candidates if c in frame.columns]


def _has_both(frame: pd.DataFrame, column: str) -> bool:
    return column in frame.columns and Z_PREFIX + column in frame.columns


def _raw_columns(frame: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        prefixes = tuple(f"{name}." for name in EVIDENCE_SETS)
        return [c for c in frame.columns if str(c).startswith(prefixes) and Z_PREFIX + c in frame.columns]
    raw = [c[len(Z_PREFIX) :] if c.startswith(Z_PREFIX) else c for c in columns]
    missing = [c for c in raw if Z_PREFIX + c not in frame.columns]
    if missing:
        raise ValueError(f"no speaker-normalised column for {missing[:5]}; extract features with normalisation first")
    return raw


def _finite_dict(series: pd.Series) -> dict[str, float]:
    return {str(k): float(v) for k, v in series.items() if np.isfinite(v)}


def _finite_items(columns: Sequence[str], row: np.ndarray) -> dict[str, float]:
    return {column: float(v) for column, v in zip(columns, row) if np.isfinite(v)}


def _measured(value: float, language: Language) -> str:
    """One decimal from 1 up; two significant digits below (jitter is ~0.01)."""
    return number(value, ".1f" if abs(value) >= 1 else ".2g", language)


def _with_unit(number: str, unit: str) -> str:
    return f"{number} {unit}" if unit else number


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
