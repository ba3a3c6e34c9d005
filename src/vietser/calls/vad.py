"""Frame-level voice activity: which 30 ms frames of a 16 kHz signal hold speech.

Two detectors, both measured on calls built from real RAVDESS and EmoDB clips
(``benchmarks/calls.py``, the VAD table of docs/design.md):

- ``webrtc`` (default): the WebRTC VAD (GMM on sub-band energies, `webrtcvad`),
  frame by frame, so it streams with no look-ahead and costs about 1 % of real
  time; aggressiveness 0–3 trades missed speech for rejected noise;
- ``praat``: Praat's silence detection through parselmouth (intensity contour,
  sounding when within ``silence_db`` of the block's loudest frame), as
  ``To TextGrid (silences)`` does; it needs a block to find that maximum, so
  its threshold drifts with what the block holds.

The WebRTC detector's energy gate is absolute, so it hears each channel at
one speech level: :class:`ChannelTracker` gives every frame a gain that brings
the channel's running 95th-percentile frame level to :data:`TARGET_DBFS`,
never lifting its 10th percentile (the line's noise) above ``min_dbfs``, and a
frame must be above ``min_dbfs`` after that gain, so digital silence and
line hum never count as speech. Without it, the calls benchmark's telephone
calls played 10 dB quieter lost 29 % of their utterances and 20 dB quieter
57 %; real 8 kHz service calls lie 20 dB apart in level. Praat's threshold
is relative already; it keeps the absolute floor.

Both backends miss speech that sits a few dB above steady line noise: in the
calls benchmark's telephone calls, quiet calm clips whose median frame is
1 dB above the noise. A second, spectral test rescues them (``likelihood_threshold``):
each frame's band spectrum against the channel's noise spectrum, Sohn, Kim and
Sung's (1999) likelihood ratio with the frame's even rise over the noise taken
out, so drifting noise stays noise (:func:`noise_likelihood_ratio`).
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import webrtcvad

from vietser.data.audio import SAMPLE_RATE

FRAME_S = 0.03
FRAME_SAMPLES = int(SAMPLE_RATE * FRAME_S)
# The 95th-percentile frame level of the studio calls the defaults were chosen on (median over calls),
# close to ITU-T P.56's nominal active speech level of -26 dBov.
TARGET_DBFS = -23.0
LEVEL_WINDOW_FRAMES = round(30.0 / FRAME_S)
LEVEL_STRIDE_FRAMES = 10
MAX_GAIN_DB = 30.0
FFT_SIZE = 512
_WINDOW = np.hanning(FRAME_SAMPLES).astype(np.float32)
_WINDOW_POWER = float(np.sum(np.square(_WINDOW, dtype=np.float64)))  # a band bin's expected power for unit white noise
_FREQUENCIES = np.fft.rfftfreq(FFT_SIZE, 1 / SAMPLE_RATE)
_BAND = (_FREQUENCIES >= 300) & (_FREQUENCIES <= 3400)
BAND_BINS = int(_BAND.sum())
LIKELIHOOD_FRAMES = 3  # frames the likelihood ratio is averaged over, this one and the two before


class VadBackend(str, Enum):
    """The frame classifier behind segmentation."""

    WEBRTC = "webrtc"
    PRAAT = "praat"


def whole_frames(block: np.ndarray) -> np.ndarray:
    """``block`` as rows of :data:`FRAME_SAMPLES` samples, a trailing part frame left out (a view, no copy)."""
    return block[: len(block) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)


def frame_dbfs(block: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each whole :data:`FRAME_SAMPLES` frame of ``block``."""
    frames = whole_frames(block)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


class ChannelTracker:
    """A channel's gain in dB and the likelihood ratio of its frames against its noise, from the last 30 s.

    The gain is as the module docstring says; the noise spectrum is the mean band spectrum of the quietest
    fifth of those frames, never below white noise at the level floor (so a line of digital silence does
    not make every murmur speech). Both are recomputed every :data:`LEVEL_STRIDE_FRAMES` frames at fixed
    frame numbers from the frames up to that one, so they are causal and the same whatever the blocks the
    channel arrives in. The last 30 s are kept in fixed ring buffers: memory per channel is constant.
    """

    def __init__(self, min_dbfs: float) -> None:
        self.min_dbfs = min_dbfs
        self._levels = np.zeros(LEVEL_WINDOW_FRAMES)
        self._spectra = np.zeros((LEVEL_WINDOW_FRAMES, BAND_BINS), dtype=np.float32)
        self._seen = 0
        self._gain = 0.0
        self._noise = np.ones(BAND_BINS, dtype=np.float32)

    def track(self, levels: np.ndarray, spectra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per frame of ``levels`` (dBFS) and ``spectra`` (:func:`band_spectra`), the next frames of the
        channel: its gain (dB) and its :func:`noise_likelihood_ratio`."""
        gains, ratios = np.empty(len(levels)), np.empty(len(levels))
        done = 0
        for frame in range(-self._seen % LEVEL_STRIDE_FRAMES, len(levels), LEVEL_STRIDE_FRAMES):
            gains[done:frame] = self._gain
            ratios[done:frame] = noise_likelihood_ratio(spectra[done:frame], self._noise)
            self._remember(levels[done : frame + 1], spectra[done : frame + 1])
            self._update()  # from the frames up to and including this one, which is the first to use it
            gains[frame] = self._gain
            ratios[frame] = noise_likelihood_ratio(spectra[frame : frame + 1], self._noise)[0]
            done = frame + 1
        gains[done:] = self._gain
        ratios[done:] = noise_likelihood_ratio(spectra[done:], self._noise)
        self._remember(levels[done:], spectra[done:])
        return gains, ratios

    def _remember(self, levels: np.ndarray, spectra: np.ndarray) -> None:
        slots = (self._seen + np.arange(len(levels))) % LEVEL_WINDOW_FRAMES
        self._levels[slots], self._spectra[slots] = levels, spectra
        self._seen += len(levels)

    def _update(self) -> None:
        filled = min(self._seen, LEVEL_WINDOW_FRAMES)
        levels = self._levels[:filled]
        speech_dbfs, quiet_dbfs, noise_dbfs = np.percentile(levels, [95, 20, 10])
        to_target = TARGET_DBFS - speech_dbfs
        gain = to_target if to_target <= 0 else max(0.0, min(to_target, self.min_dbfs - noise_dbfs))
        self._gain = float(np.clip(gain, -MAX_GAIN_DB, MAX_GAIN_DB))
        floor = 10 ** ((self.min_dbfs - self._gain) / 10) * _WINDOW_POWER
        self._noise = np.maximum(self._spectra[:filled][levels <= quiet_dbfs].mean(axis=0), np.float32(floor))


def band_spectra(block: np.ndarray) -> np.ndarray:
    """Power spectrum of each whole frame of ``block`` (Hann window) in the telephone band, 300–3400 Hz."""
    frames = whole_frames(block)
    spectra = np.empty((len(frames), BAND_BINS), dtype=np.float32)
    for first in range(0, len(frames), 64):  # a few frames at a time: no full-block complex copy
        chunk = np.fft.rfft(frames[first : first + 64].astype(np.float32) * _WINDOW, FFT_SIZE, axis=1)[:, _BAND]
        spectra[first : first + 64] = np.square(np.abs(chunk))
    return spectra


def noise_likelihood_ratio(spectra: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Mean log-likelihood ratio of speech against noise per frame, over the band's bins (Sohn, Kim and Sung,
    1999: Gaussian spectra, maximum-likelihood a-priori SNR); about 0.2 in noise alone, large in speech.

    Real line noise drifts in level, and a frame raised evenly across the band is louder noise, not speech:
    where a frame's median bin stands above the noise's median (ln 2 for Gaussian noise), its bins are
    divided by that excess, so only a change of spectral shape (harmonics, formants) counts.
    """
    posterior = spectra / noise
    posterior /= np.maximum(np.median(posterior, axis=1, keepdims=True) / np.log(2), 1.0)
    prior = np.maximum(posterior - 1.0, 0.0)
    return np.mean(posterior * prior / (1.0 + prior) - np.log1p(prior), axis=1)


class FrameVad:
    """Speech / non-speech per frame for blocks of a 16 kHz float signal (whole frames only).

    A frame above the level floor is speech when the backend says so or, with ``likelihood_threshold`` set,
    when its spectrum stands out of the channel's noise spectrum (:class:`ChannelTracker`): the mean of
    :func:`noise_likelihood_ratio` over it and the two frames before exceeds the threshold.
    """

    def __init__(
        self,
        backend: VadBackend = VadBackend.WEBRTC,
        aggressiveness: int = 2,
        silence_db: float = 25.0,
        min_dbfs: float = -55.0,
        likelihood_threshold: float | None = None,
    ) -> None:
        self.backend = VadBackend(backend)
        self.silence_db = silence_db
        self.min_dbfs = min_dbfs
        self.likelihood_threshold = likelihood_threshold
        self._webrtc = webrtcvad.Vad(aggressiveness) if self.backend is VadBackend.WEBRTC else None
        self._tracker = ChannelTracker(min_dbfs)
        self._recent_ratios = np.zeros(0)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """One bool per whole frame of ``block``: True where the frame holds speech."""
        level = frame_dbfs(block)
        gains, ratios = self._tracker.track(level, band_spectra(block))
        if self._webrtc is None:
            gains = np.zeros(len(level))  # Praat's threshold is relative to the block already
            speech = level > self._praat_threshold(block)
        else:
            scale = (10 ** (gains / 20)).astype(np.float32)[:, None]  # float32 frames: no float64 copy of the block
            gained = (whole_frames(block) * scale).ravel()
            speech = self._webrtc_flags(gained, len(level))
        if self.likelihood_threshold is not None:
            speech |= self._smoothed_ratios(ratios) > self.likelihood_threshold
        return (level + gains > self.min_dbfs) & speech

    def _smoothed_ratios(self, ratios: np.ndarray) -> np.ndarray:
        """Each frame's ratio averaged with the frames before it (:data:`LIKELIHOOD_FRAMES` in all), across blocks."""
        history = np.concatenate([self._recent_ratios, ratios])
        self._recent_ratios = history[-(LIKELIHOOD_FRAMES - 1) :]
        window = np.convolve(history, np.ones(LIKELIHOOD_FRAMES) / LIKELIHOOD_FRAMES, mode="full")
        return window[len(history) - len(ratios) : len(history)]

    def _webrtc_flags(self, block: np.ndarray, frames: int) -> np.ndarray:
        assert self._webrtc is not None
        pcm = (np.clip(block[: frames * FRAME_SAMPLES], -1.0, 1.0) * 32767).astype("<i2").tobytes()
        step = FRAME_SAMPLES * 2
        return np.fromiter(
            (self._webrtc.is_speech(pcm[i * step : (i + 1) * step], SAMPLE_RATE) for i in range(frames)),
            dtype=bool,
            count=frames,
        )

    def _praat_threshold(self, block: np.ndarray) -> float:
        """Praat's silence threshold for ``block``: its maximum intensity less ``silence_db``."""
        import parselmouth  # only this backend needs Praat; segmentation imports stay cheap

        if len(block) < 0.1 * SAMPLE_RATE:
            return self.min_dbfs
        intensity = parselmouth.Sound(block.astype(np.float64), SAMPLE_RATE).to_intensity(minimum_pitch=100.0)
        values = intensity.values[0]
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return np.inf
        # Praat's dB are re 2e-5 Pa on a signal in Pa (1.0 full scale): 20*log10(1/2e-5) ≈ 94 dB above dBFS.
        return float(finite.max() - 94.0 - self.silence_db)
