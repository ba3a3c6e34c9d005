from __future__ import annotations

from pathlib import Path

import pytest

from vietser.features.cache import CachedFeatures, FeatureCache, default_cache_dir

SHA = "ab" + "0" * 62
ENTRY = CachedFeatures(duration_s=1.25, values={"prosody.hnr_db": 12.3456789012345, "prosody.speech_rate": 4.0})


def test_stored_entry_reads_back_identical(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    cache.put(SHA, "prosody", 16000, ENTRY)
    assert cache.get(SHA, "prosody", 16000) == ENTRY


def test_other_feature_set_or_sample_rate_is_a_miss(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    cache.put(SHA, "prosody", 16000, ENTRY)
    assert cache.get(SHA, "egemaps", 16000) is None
    assert cache.get(SHA, "prosody", 8000) is None


def test_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    cache.put(SHA, "prosody", 16000, ENTRY)
    cache.path(SHA, "prosody", 16000).write_text('{"duration_s": 1.0, "val', encoding="utf-8")
    assert cache.get(SHA, "prosody", 16000) is None


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    cache.put(SHA, "prosody", 16000, ENTRY)
    cache.put(SHA, "prosody", 16000, ENTRY)
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == [
        cache.path(SHA, "prosody", 16000).name
    ]


def test_default_dir_is_under_vietser_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIETSER_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "features"


def test_default_dir_without_env_is_in_the_home_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIETSER_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "vietser" / "features"
