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

Both also require a frame to be above an absolute floor (``min_dbfs``), so
digital silence and line hum below speech level never count as speech.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import webrtcvad

from vietser.data.audio import SAMPLE_RATE

FRAME_S = 0.03
FRAME_SAMPLES = int(SAMPLE_RATE * FRAME_S)


class VadBackend(str, Enum):
    """The frame classifier behind segmentation."""

    WEBRTC = "webrtc"
    PRAAT = "praat"


def frame_dbfs(block: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each whole :data:`FRAME_SAMPLES` frame of ``block``."""
    frames = block[: len(block) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


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

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """One bool per whole frame of ``block``: True where the frame holds speech."""
        level = frame_dbfs(block)
        audible = level > self.min_dbfs
        if self._webrtc is not None:
            return audible & self._webrtc_flags(block, len(level))
        return audible & (level > self._praat_threshold(block))

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
