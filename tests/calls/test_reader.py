"""Reading recordings block by block, and what importing segmentation costs."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.calls.signals import SR, utterances
from vietser.calls.call import cut_call
from vietser.calls.reader import iter_blocks
from vietser.errors import CorruptAudioError


def test_an_8k_stereo_file_comes_back_as_16k_blocks_of_both_channels(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    t = np.arange(8000 * 25) / 8000
    sf.write(path, np.stack([np.sin(2 * np.pi * 300 * t), np.zeros_like(t)], axis=1) * 0.5, 8000)

    blocks = list(iter_blocks(path, block_s=10.0))

    joined = np.concatenate(blocks)
    assert len(blocks) >= 3 and joined.shape[1] == 2
    assert len(joined) == pytest.approx(25 * SR, abs=64)
    assert np.abs(joined[:, 1]).max() < 1e-6 and np.abs(joined[SR:-SR, 0]).max() == pytest.approx(0.5, abs=0.02)


def _peak_cutting(path: Path, turns: int, workdir: Path) -> int:
    turn = utterances([(1.0, 4.0), (5.5, 8.0)], 10.0)
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as out:
        for _ in range(turns):
            out.write(turn)
    workdir.mkdir()
    tracemalloc.start()
    cuts = cut_call(path, workdir)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(cuts[0].files) == 2 * turns
    return peak


def test_a_long_call_is_segmented_in_memory_far_below_its_decoded_size_and_not_growing(tmp_path: Path) -> None:
    _peak_cutting(tmp_path / "warm-up.wav", 60, tmp_path / "warm-up")  # one-off allocations (imports, caches)
    five_minutes = _peak_cutting(tmp_path / "five.wav", 30, tmp_path / "five")
    ten_minutes = _peak_cutting(tmp_path / "ten.wav", 60, tmp_path / "ten")

    assert five_minutes < 300 * SR * 4 / 3  # a third of the decoded five minutes
    assert ten_minutes < 1.1 * five_minutes


def test_a_file_that_is_not_audio_is_a_corrupt_audio_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("not audio")

    with pytest.raises(CorruptAudioError):
        list(iter_blocks(path))


def test_importing_segmentation_loads_neither_fastapi_nor_the_predictor() -> None:
    code = "import sys, vietser.calls.segment; print(sorted(m for m in ('fastapi', 'vietser.run.predict', 'matplotlib') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert loaded == "[]"
