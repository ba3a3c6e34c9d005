from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from tests.features.conftest import ManifestMaker
from vietser.features.cache import FEATURE_VERSION
from vietser.features.catalog import SPREAD_FEATURES, SPREAD_PREFIX
from vietser.errors import ConfigError
from vietser.features.smile import smile_columns
from vietser.features.extract import extract_features, read_features, write_features
from vietser.features.prosody import COLUMNS as PROSODY_COLUMNS

MANIFEST_COLUMNS = ["clip_id", "path", "label", "speaker", "split"]


def _with_bad_clips(manifest: pd.DataFrame, folder: Path) -> pd.DataFrame:
    sf.write(folder / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    (folder / "corrupt.wav").write_bytes(b"RIFF this is not audio")
    noise = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    sf.write(folder / "noise.wav", noise, 16000)
    bad = [
        {"clip_id": name, "path": str(folder / name), "label": "calm", "speaker": "spk_x", "split": "train"}
        for name in ("silent.wav", "corrupt.wav", "noise.wav", "missing.wav")
    ]
    return pd.concat([manifest.iloc[:2], pd.DataFrame(bad), manifest.iloc[2:]], ignore_index=True)


def test_table_has_manifest_hash_duration_raw_and_z_columns_in_order(manifest: pd.DataFrame, cache_dir: Path) -> None:
    frame = extract_features(manifest, cache_dir=cache_dir).frame
    raw = [*smile_columns("egemaps"), *PROSODY_COLUMNS, *smile_columns("emobase")]
    spread = [SPREAD_PREFIX + c for c in SPREAD_FEATURES]
    assert list(frame.columns) == [*MANIFEST_COLUMNS, "audio_sha256", "duration_s", *raw, *("z." + c for c in raw), *spread]
    assert frame["clip_id"].tolist() == manifest["clip_id"].tolist()
    assert frame["duration_s"].tolist() == pytest.approx([0.8] * len(manifest))
    assert np.isfinite(frame[raw].to_numpy()).all()


def test_only_requested_sets_are_extracted(manifest: pd.DataFrame, cache_dir: Path) -> None:
    frame = extract_features(manifest, sets=("prosody",), cache_dir=cache_dir).frame
    assert not any(column.startswith(("egemaps.", "z.egemaps.")) for column in frame.columns)
    assert "z.prosody.speech_rate" in frame.columns


def test_second_run_reads_everything_from_the_cache(manifest: pd.DataFrame, cache_dir: Path) -> None:
    first = extract_features(manifest, cache_dir=cache_dir)
    second = extract_features(manifest, cache_dir=cache_dir)
    assert (first.computed, first.cached) == (len(manifest), 0)
    assert (second.computed, second.cached) == (0, len(manifest))
    pd.testing.assert_frame_equal(first.frame, second.frame)


def test_interrupted_run_resumes_with_only_the_missing_clips(manifest: pd.DataFrame, cache_dir: Path) -> None:
    extract_features(manifest.iloc[:2], cache_dir=cache_dir)
    resumed = extract_features(manifest, cache_dir=cache_dir)
    assert (resumed.computed, resumed.cached) == (len(manifest) - 2, 2)


def test_default_cache_is_under_vietser_cache_dir(manifest: pd.DataFrame, isolated_user_dirs: Path) -> None:
    extract_features(manifest.iloc[:1])
    assert list((isolated_user_dirs / "features").rglob("*.json"))


def test_bad_clips_are_skipped_and_reported_while_the_others_succeed(
    manifest: pd.DataFrame, cache_dir: Path, tmp_path: Path
) -> None:
    result = extract_features(_with_bad_clips(manifest, tmp_path), cache_dir=cache_dir)
    assert result.frame["clip_id"].tolist() == manifest["clip_id"].tolist()
    reasons = {clip.clip_id: clip.reason for clip in result.skipped}
    assert list(reasons) == ["silent.wav", "corrupt.wav", "noise.wav", "missing.wav"]
    assert "silent" in reasons["silent.wav"]
    assert "corrupt" in reasons["corrupt.wav"]
    assert "no voiced speech" in reasons["noise.wav"]
    assert "cannot read file" in reasons["missing.wav"]
    assert result.skipped[0].path == str(tmp_path / "silent.wav")
    assert result.computed == len(manifest)


def test_progress_reports_every_clip_until_done(manifest: pd.DataFrame, cache_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    extract_features(manifest, cache_dir=cache_dir, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(done, len(manifest)) for done in range(len(manifest) + 1)]


def test_speakers_with_enough_clips_are_normalised_on_their_own(
    make_manifest: ManifestMaker, cache_dir: Path
) -> None:
    manifest = make_manifest(speakers=("spk_a", "spk_b"), n=5, duration_s=0.5)
    frame = extract_features(manifest, sets=("prosody",), cache_dir=cache_dir, min_clips_per_speaker=5).frame
    means = frame.groupby("speaker")["z.prosody.f0_mean_st"].mean()
    assert np.allclose(means, 0.0, atol=1e-9)


def test_two_worker_processes_give_the_same_values(manifest: pd.DataFrame, tmp_path: Path) -> None:
    single = extract_features(manifest, cache_dir=tmp_path / "one").frame
    parallel = extract_features(manifest, jobs=2, cache_dir=tmp_path / "two").frame
    pd.testing.assert_frame_equal(single, parallel)


def test_dask_backend_gives_the_same_values_as_local(manifest: pd.DataFrame, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local = extract_features(manifest, cache_dir=tmp_path / "local").frame
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        remote = extract_features(
            manifest, backend="dask", scheduler=cluster.scheduler_address, cache_dir=tmp_path / "dask"
        ).frame
        ran_on_dask = any("_compute" in prefix for prefix in cluster.scheduler.task_prefixes)
    assert ran_on_dask
    pd.testing.assert_frame_equal(local, remote)


def test_dask_backend_without_distributed_asks_to_install_the_extra(
    manifest: pd.DataFrame, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"pip install 'vietser\[dask\]'"):
        extract_features(manifest, backend="dask", cache_dir=cache_dir)


def test_unknown_feature_set_is_rejected(manifest: pd.DataFrame, cache_dir: Path) -> None:
    with pytest.raises(ConfigError, match="unknown or no feature set"):
        extract_features(manifest, sets=("mfcc",), cache_dir=cache_dir)  # type: ignore[arg-type]


def test_features_parquet_round_trip_keeps_values_order_and_version(
    manifest: pd.DataFrame, cache_dir: Path, tmp_path: Path
) -> None:
    frame = extract_features(manifest, cache_dir=cache_dir).frame
    path = tmp_path / "out" / "features.parquet"
    write_features(frame, path)
    pd.testing.assert_frame_equal(read_features(path), frame)
    metadata = json.loads(pq.read_schema(path).metadata[b"vietser.features"])
    assert metadata == {"feature_sets": ["egemaps", "prosody", "emobase"], "feature_version": FEATURE_VERSION}


def test_reading_a_missing_features_table_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run feature extraction first"):
        read_features(tmp_path / "features.parquet")
