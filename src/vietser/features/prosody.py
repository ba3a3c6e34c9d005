"""Interpretable prosody measured with Praat (via praat-parselmouth).

Every value is computed on one clip; all are finite or the clip is rejected:

* Pitch: Praat's autocorrelation tracker, 10 ms steps, floor 75 Hz, ceiling
  600 Hz (covers low male speech up to panicked shouting). Semitones are
  ``12 * log2(f0 / 27.5 Hz)``, the same reference as eGeMAPS'
  ``F0semitoneFrom27.5Hz``, so both sets are on one scale.
* Intensity: Praat's intensity contour (dB re 2e-5 Pa, treating samples as
  pascal), with a 50 Hz minimum pitch (a 64 ms window) as in De Jong &
  Wempe's (2009) script: smooth enough that one syllable gives one peak. A
  frame is *sounding* when it is above ``p99 - 25 dB`` (their threshold).
  Intensity mean (energy average) and 5-95 percentile range are taken over
  sounding frames.
* The *utterance* runs from the first to the last sounding frame: leading
  and trailing silence is recording padding, not speaking behaviour, so
  ``speech_rate``, ``pause_ratio`` and ``voiced_fraction`` ignore it, and
  openSMILE analyses only the utterance (:func:`utterance`).
* ``speech_rate``: syllable nuclei per second of utterance. A nucleus is an
  intensity peak above the sounding threshold, standing at least 2 dB above
  the dips that separate it from its neighbouring peaks, and voiced.
* ``pause_ratio``: fraction of the utterance spent in silent pauses (runs of
  non-sounding frames of at least 0.2 s).
* Voice quality: local jitter and shimmer from a cross-correlation point
  process with Praat's voice-report settings. HNR is Boersma's (1993)
  ``10 * log10(r / (1 - r))`` from the autocorrelation peak ``r`` of each
  voiced pitch frame, averaged in dB. Praat's harmonicity objects compute
  the same quantity in a second pass with other window settings; reusing
  the pitch analysis keeps this module about four times faster.

A clip without enough voiced speech (fewer than ``MIN_VOICED_FRAMES`` voiced
pitch frames) or on which jitter or shimmer are undefined raises
:class:`~vietser.errors.FeatureError`: pitch cues cannot be read from it, and
corpus extraction skips and reports it instead of writing NaN.
"""

from __future__ import annotations

import numpy as np
import parselmouth
from parselmouth.praat import call

from vietser.data.audio import Audio
from vietser.errors import FeatureError

PREFIX = "prosody."
NAMES = (
    "f0_mean_hz",
    "f0_mean_st",
    "f0_median_st",
    "f0_range_st",
    "f0_slope_st_per_s",
    "intensity_mean_db",
    "intensity_range_db",
    "jitter_local",
    "shimmer_local",
    "hnr_db",
    "voiced_fraction",
    "speech_rate",
    "pause_ratio",
)
COLUMNS = tuple(PREFIX + name for name in NAMES)

TIME_STEP_S = 0.01
PITCH_FLOOR_HZ = 75.0
PITCH_CEILING_HZ = 600.0
INTENSITY_MIN_PITCH_HZ = 50.0
SEMITONE_REFERENCE_HZ = 27.5
SILENCE_BELOW_P99_DB = 25.0
MIN_DIP_DB = 2.0
MIN_PAUSE_S = 0.2
# Kept on either side of the utterance: the intensity window (64 ms) already
# reaches into the padding, and a word's onset or release may lie below the threshold.
UTTERANCE_MARGIN_S = 0.05
MIN_VOICED_FRAMES = 5
# Praat's standard voice-report settings for jitter and shimmer.
PERIOD_FLOOR_S = 0.0001
PERIOD_CEILING_S = 0.02
MAX_PERIOD_FACTOR = 1.3
MAX_AMPLITUDE_FACTOR = 1.6


def extract_prosody(audio: Audio) -> dict[str, float]:
    """Measure the ``prosody.*`` features of one clip.

    Raises:
        FeatureError: the clip has too little voiced speech, or Praat fails.
    """
    sound = parselmouth.Sound(audio.samples.astype(np.float64), sampling_frequency=audio.sample_rate)
    try:
        pitch = sound.to_pitch_ac(
            time_step=TIME_STEP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ
        )
        intensity = sound.to_intensity(minimum_pitch=INTENSITY_MIN_PITCH_HZ, time_step=TIME_STEP_S)
    except parselmouth.PraatError as exc:
        raise FeatureError(audio.path, f"Praat could not analyse the clip: {exc}") from exc
    f0 = pitch.selected_array["frequency"]
    pitch_times = pitch.xs()
    voiced = f0 > 0
    if int(voiced.sum()) < MIN_VOICED_FRAMES:
        raise FeatureError(
            audio.path,
            f"no voiced speech found ({int(voiced.sum())} voiced pitch frames between "
            f"{PITCH_FLOOR_HZ:.0f} and {PITCH_CEILING_HZ:.0f} Hz, need {MIN_VOICED_FRAMES})",
        )
    db = intensity.values[0]
    values = _pitch_measures(f0[voiced], pitch_times[voiced])
    values["hnr_db"] = _hnr_db(pitch.selected_array["strength"][voiced])
    values.update(_intensity_and_timing(db, intensity.xs(), f0, pitch_times))
    values.update(_voice_quality(sound, pitch, audio.path))
    return {PREFIX + name: float(values[name]) for name in NAMES}


def utterance(audio: Audio) -> Audio:
    """The clip from its first to its last sounding frame, ``UTTERANCE_MARGIN_S`` either side.

    Corpora pad their clips very differently (RAVDESS about half of each clip is
    silence, EmoDB and segmented calls almost none); functionals over the whole
    clip (loudness percentiles, voiced segments per second, every mean over frames)
    would measure the padding, not the voice. A clip Praat cannot analyse is
    returned whole (its features then fail or stand as they are).
    """
    sound = parselmouth.Sound(audio.samples.astype(np.float64), sampling_frequency=audio.sample_rate)
    try:
        intensity = sound.to_intensity(minimum_pitch=INTENSITY_MIN_PITCH_HZ, time_step=TIME_STEP_S)
    except parselmouth.PraatError:
        return audio
    db, times = intensity.values[0], intensity.xs()
    sounding = np.flatnonzero(db >= _sounding_threshold(db))
    start = max(0, int((times[sounding[0]] - UTTERANCE_MARGIN_S) * audio.sample_rate))
    stop = min(len(audio.samples), int(np.ceil((times[sounding[-1]] + UTTERANCE_MARGIN_S) * audio.sample_rate)))
    if start == 0 and stop == len(audio.samples):
        return audio
    return Audio(samples=audio.samples[start:stop], sample_rate=audio.sample_rate, path=audio.path)


def _sounding_threshold(db: np.ndarray) -> float:
    return max(float(np.percentile(db, 99)) - SILENCE_BELOW_P99_DB, float(db.min()))


def semitones(f0_hz: np.ndarray) -> np.ndarray:
    """Frequency in semitones above 27.5 Hz (the eGeMAPS reference)."""
    return 12.0 * np.log2(f0_hz / SEMITONE_REFERENCE_HZ)


def _pitch_measures(f0: np.ndarray, times: np.ndarray) -> dict[str, float]:
    st = semitones(f0)
    p5, p95 = np.percentile(st, [5, 95])
    slope = np.polyfit(times, st, 1)[0] if np.ptp(times) > 0 else 0.0
    return {
        "f0_mean_hz": float(f0.mean()),
        "f0_mean_st": float(st.mean()),
        "f0_median_st": float(np.median(st)),
        "f0_range_st": float(p95 - p5),
        "f0_slope_st_per_s": float(slope),
    }


def _hnr_db(strength: np.ndarray) -> float:
    # Praat's own limits: HNR is capped at +-150 dB.
    r = np.clip(strength, 1e-15, 1.0 - 1e-15)
    return float(np.mean(10.0 * np.log10(r / (1.0 - r))))


def _intensity_and_timing(
    db: np.ndarray, times: np.ndarray, f0: np.ndarray, pitch_times: np.ndarray
) -> dict[str, float]:
    threshold = _sounding_threshold(db)
    sounding = db >= threshold
    first, last = np.flatnonzero(sounding)[[0, -1]]
    span_s = (last - first + 1) * TIME_STEP_S
    pause_s = _pause_frames(sounding[first : last + 1]) * TIME_STEP_S
    speech_db = db[sounding]
    p5, p95 = np.percentile(speech_db, [5, 95])
    in_span = (pitch_times >= times[first]) & (pitch_times <= times[last])
    voiced_fraction = float((f0[in_span] > 0).mean()) if in_span.any() else 0.0
    return {
        "intensity_mean_db": float(10.0 * np.log10(np.mean(10.0 ** (speech_db / 10.0)))),
        "intensity_range_db": float(p95 - p5),
        "voiced_fraction": voiced_fraction,
        "speech_rate": _syllable_nuclei(db, times, threshold, f0, pitch_times) / span_s,
        "pause_ratio": pause_s / span_s,
    }


def _pause_frames(sounding: np.ndarray) -> int:
    """Number of frames in runs of silence at least ``MIN_PAUSE_S`` long."""
    edges = np.diff(np.concatenate(([0], (~sounding).astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = ends - starts
    return int(lengths[lengths * TIME_STEP_S >= MIN_PAUSE_S].sum())


def prominent_peaks(x: np.ndarray, height: float, prominence: float) -> np.ndarray:
    """Indices of the local maxima of ``x`` (a plateau counts once, at its middle) at least ``height``
    high and standing at least ``prominence`` above the higher of the lowest points between them and
    the nearest higher sample on either side — ``scipy.signal.find_peaks(x, height=, prominence=)``,
    whose import (scipy.signal, scipy.stats) costs more than half a second of every `vietser predict`."""
    values = np.asarray(x, dtype=np.float64).tolist()  # Python floats: these loops run 30x faster on them
    peaks = []
    i, last = 1, len(values) - 1
    while i < last:
        if values[i - 1] < values[i]:
            ahead = i + 1
            while ahead < last and values[ahead] == values[i]:
                ahead += 1
            if values[ahead] < values[i]:
                peaks.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    return np.array(
        [peak for peak in peaks if values[peak] >= height and _prominence(values, peak) >= prominence], dtype=np.intp
    )


def _prominence(x: list[float], peak: int) -> float:
    """How far ``x[peak]`` stands above the higher of its two bases (as scipy.signal.peak_prominences)."""
    top = x[peak]
    bases = []
    for step in (-1, 1):
        lowest, i = top, peak
        while 0 <= i < len(x) and x[i] <= top:
            lowest = min(lowest, x[i])
            i += step
        bases.append(lowest)
    return float(top - max(bases))


def _syllable_nuclei(
    db: np.ndarray, times: np.ndarray, threshold: float, f0: np.ndarray, pitch_times: np.ndarray
) -> int:
    """Count voiced intensity peaks above ``threshold`` with dips of ``MIN_DIP_DB`` around them."""
    peaks = prominent_peaks(db, threshold, MIN_DIP_DB)
    # Pitch frames lie on a regular TIME_STEP_S grid: take the frame nearest each peak.
    nearest = np.rint((times[peaks] - pitch_times[0]) / TIME_STEP_S).astype(int)
    nearest = np.clip(nearest, 0, len(pitch_times) - 1)
    return int((f0[nearest] > 0).sum())


def _voice_quality(sound: parselmouth.Sound, pitch: parselmouth.Pitch, path: str) -> dict[str, float]:
    try:
        points = call([sound, pitch], "To PointProcess (cc)")
        jitter = call(points, "Get jitter (local)", 0, 0, PERIOD_FLOOR_S, PERIOD_CEILING_S, MAX_PERIOD_FACTOR)
        shimmer = call(
            [sound, points],
            "Get shimmer (local)",
            0,
            0,
            PERIOD_FLOOR_S,
            PERIOD_CEILING_S,
            MAX_PERIOD_FACTOR,
            MAX_AMPLITUDE_FACTOR,
        )
    except parselmouth.PraatError as exc:
        raise FeatureError(path, f"Praat voice-quality analysis failed: {exc}") from exc
    values = {"jitter_local": jitter, "shimmer_local": shimmer}
    undefined = [name for name, value in values.items() if not np.isfinite(value)]
    if undefined:
        raise FeatureError(
            path, f"{', '.join(undefined)} undefined: too few consecutive glottal periods in the voiced speech"
        )
    return values
