"""Calls built from the small demo corpus' test clips: stereo and mono, written as real files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.calls.signals import SR, silence, with_floor
from vietser.data.audio import load_audio
from vietser.data.manifest import load_manifest


@dataclass(frozen=True)
class BuiltCall:
    path: Path
    spans: list[tuple[float, float]]  # where each clip lies on the speaking channel
    labels: list[str]


def _clips(small_demo: Path, n: int) -> tuple[list[np.ndarray], list[str]]:
    manifest = load_manifest(small_demo)
    test = manifest[manifest["split"] == "test"].head(n)
    return [load_audio(path).samples for path in test["path"]], list(test["label"])


def build_call(clips: list[np.ndarray], pause_s: float = 1.0) -> tuple[np.ndarray, list[tuple[float, float]]]:
    parts, spans, at = [silence(pause_s)], [], pause_s
    for clip in clips:
        parts += [clip, silence(pause_s)]
        spans.append((at, at + len(clip) / SR))
        at += len(clip) / SR + pause_s
    return with_floor(np.concatenate(parts)), spans


@pytest.fixture(scope="session")
def stereo_call(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltCall:
    """8 kHz stereo: the left channel speaks 8 demo clips, the right channel is digital silence."""
    clips, labels = _clips(small_demo, 8)
    left, spans = build_call(clips)
    path = tmp_path_factory.mktemp("calls") / "call-stereo.wav"
    import soxr

    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    sf.write(path, soxr.resample(stereo, SR, 8000), 8000, subtype="PCM_16")
    return BuiltCall(path, spans, labels)


@pytest.fixture(scope="session")
def two_speaker_call(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltCall:
    """16 kHz stereo: both channels speak 6 clips each, on turns that do not overlap."""
    clips, labels = _clips(small_demo, 12)
    left, spans = build_call(clips[:6], pause_s=3.0)
    right, _ = build_call(clips[6:], pause_s=3.0)
    length = max(len(left), len(right))
    stereo = np.stack([np.pad(left, (0, length - len(left))), np.pad(right, (0, length - len(right)))], axis=1)
    path = tmp_path_factory.mktemp("calls") / "call-two.wav"
    sf.write(path, stereo, SR, subtype="PCM_16")
    return BuiltCall(path, spans, labels)
