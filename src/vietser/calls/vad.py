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
one speech level: :class:`LevelTracker` gives every frame a gain that brings
the channel's running 95th-percentile frame level to :data:`TARGET_DBFS`,
never lifting its 10th percentile (the line's noise) above ``min_dbfs``, and a
frame must be above ``min_dbfs`` after that gain, so digital silence and
line hum never count as speech. Without it, the calls benchmark's telephone
calls played 10 dB quieter lost 29 % of their utterances and 20 dB quieter
57 %; real 8 kHz service calls lie 20 dB apart in level. Praat's threshold
is relative already; it keeps the absolute floor.
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


class VadBackend(str, Enum):
    """The frame classifier behind segmentation."""

    WEBRTC = "webrtc"
    PRAAT = "praat"


def frame_dbfs(block: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each whole :data:`FRAME_SAMPLES` frame of ``block``."""
    frames = block[: len(block) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


class LevelTracker:
    """A channel's gain in dB, frame by frame, from the last 30 s of its frame levels (see the module docstring).

    The gain is recomputed every :data:`LEVEL_STRIDE_FRAMES` frames at fixed frame numbers from the frames up
    to that one, so it is causal and the same whatever the blocks the channel arrives in.
    """

    def __init__(self, min_dbfs: float) -> None:
        self.min_dbfs = min_dbfs
        self._history = np.zeros(0)
        self._seen = 0
        self._gain = 0.0

    def gains_db(self, levels: np.ndarray) -> np.ndarray:
        """One gain per frame of ``levels`` (the next frames of the channel, in dBFS)."""
        gains = np.empty(len(levels))
        filled = remembered = 0
        for frame in range(-self._seen % LEVEL_STRIDE_FRAMES, len(levels), LEVEL_STRIDE_FRAMES):
            gains[filled:frame] = self._gain
            self._history = np.concatenate([self._history, levels[remembered : frame + 1]])[-LEVEL_WINDOW_FRAMES:]
            remembered = filled = frame + 1
            self._gain = self._gain_for(self._history)
            gains[frame] = self._gain
        gains[filled:] = self._gain
        self._history = np.concatenate([self._history, levels[remembered:]])[-LEVEL_WINDOW_FRAMES:]
        self._seen += len(levels)
        return gains

    def _gain_for(self, history: np.ndarray) -> float:
        speech_dbfs, noise_dbfs = np.percentile(history, [95, 10])
        to_target = TARGET_DBFS - speech_dbfs
        gain = to_target if to_target <= 0 else max(0.0, min(to_target, self.min_dbfs - noise_dbfs))
        return float(np.clip(gain, -MAX_GAIN_DB, MAX_GAIN_DB))


class FrameVad:
    """Speech / non-speech per frame for blocks of a 16 kHz float signal (whole frames only)."""

    def __init__(
        self,
        backend: VadBackend = VadBackend.WEBRTC,
        aggressiveness: int = 2,
        silence_db: float = 25.0,
        min_dbfs: float = -55.0,
    ) -> None:
        self.backend = VadBackend(backend)
        self.silence_db = silence_db
        self.min_dbfs = min_dbfs
        self._webrtc = webrtcvad.Vad(aggressiveness) if self.backend is VadBackend.WEBRTC else None
        self._level = LevelTracker(min_dbfs)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """One bool per whole frame of ``block``: True where the frame holds speech."""
        level = frame_dbfs(block)
        if self._webrtc is None:
            return (level > self.min_dbfs) & (level > self._praat_threshold(block))
        gains = self._level.gains_db(level)
        scale = (10 ** (gains / 20)).astype(np.float32)[:, None]  # float32 frames: no float64 copy of the block
        gained = (block[: len(level) * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES) * scale).ravel()
        return (level + gains > self.min_dbfs) & self._webrtc_flags(gained, len(level))

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
