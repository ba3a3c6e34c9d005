"""Fixtures for feature tests: small manifests of generated voice-like clips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ToneWriter

ManifestMaker = Callable[..., pd.DataFrame]


@pytest.fixture
def make_manifest(write_tone: ToneWriter, tmp_path: Path) -> ManifestMaker:
    """Write ``n`` short tones per speaker and return their manifest (design.md columns)."""

    def _make(speakers: tuple[str, ...] = ("spk_a", "spk_b"), n: int = 3, duration_s: float = 0.8) -> pd.DataFrame:
        rows = []
        for s, speaker in enumerate(speakers):
            for i in range(n):
                clip_id = f"{speaker}/clip_{i}.wav"
                path = write_tone(clip_id, f0=140.0 + 40 * s + 8 * i, duration_s=duration_s, amplitude=0.1 + 0.05 * i)
                rows.append(
                    {"clip_id": clip_id, "path": str(path), "label": "calm", "speaker": speaker, "split": "train"}
                )
        return pd.DataFrame(rows)

    return _make


@pytest.fixture
def manifest(make_manifest: ManifestMaker) -> pd.DataFrame:
    return make_manifest()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "feature-cache"
