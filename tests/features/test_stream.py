from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from tests.conftest import make_voice_like
from vietser.features.cache import FEATURE_VERSION
from vietser.data.audio import file_sha256
from vietser.errors import ConfigError
from vietser.features.extract import Progress, extract_features, read_features, write_features
from vietser.features.stream import extract_to_parquet, parts_dir

SAMPLE_RATE = 16_000
BAD_CLIPS = ("corrupt.wav", "silent.wav")


class Interrupted(Exception):
    """Raised from a progress callback to stop a run part-way, as Ctrl-C would."""


def _corpus(folder: Path, n: int = 40, bad_at: tuple[int, ...] = ()) -> pd.DataFrame:
    """``n`` short voice-like clips from 5 speakers (one without an id), bad clips inserted at ``bad_at``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    rows = []
    for i in range(n):
        path = folder / f"clip_{i:03d}.wav"
        f0, duration = rng.uniform(110, 260), rng.uniform(0.4, 0.6)
        sf.write(path, make_voice_like(f0, duration, SAMPLE_RATE, amplitude=rng.uniform(0.05, 0.5), seed=i), SAMPLE_RATE)
        speaker = "" if i % 5 == 4 else f"spk_{i % 5}"
        rows.append({"clip_id": path.name, "path": str(path), "label": "calm", "speaker": speaker, "split": "train"})
    (folder / BAD_CLIPS[0]).write_bytes(b"RIFF not audio at all")
    sf.write(folder / BAD_CLIPS[1], np.zeros(SAMPLE_RATE // 2, dtype=np.float32), SAMPLE_RATE)
    for position, name in zip(bad_at, BAD_CLIPS):
        bad = {"clip_id": name, "path": str(folder / name), "label": "calm", "speaker": "spk_0", "split": "train"}
        rows.insert(position, bad)
    return pd.DataFrame(rows)


def _stop_after(clips: int) -> Progress:
    def progress(done: int, total: int) -> None:
        if done >= clips:
            raise Interrupted

    return progress


def test_streamed_table_equals_the_in_memory_one(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=17, bad_at=(2, 11))
    streamed = extract_to_parquet(
        manifest, tmp_path / "streamed.parquet", chunk_size=4, cache_dir=tmp_path / "a", min_clips_per_speaker=3
    )
    expected = extract_features(manifest, cache_dir=tmp_path / "b", min_clips_per_speaker=3)
    write_features(expected.frame, tmp_path / "memory.parquet")
    pd.testing.assert_frame_equal(
        read_features(streamed.output), read_features(tmp_path / "memory.parquet"), rtol=1e-9, atol=1e-9
    )
    assert streamed.skipped == expected.skipped
    assert (streamed.rows, expected.rows, streamed.computed, streamed.cached) == (17, 17, 17, 0)
    assert streamed.corpus_stats.mean == pytest.approx(expected.corpus_stats.mean, rel=1e-12)
    assert streamed.corpus_stats.std == pytest.approx(expected.corpus_stats.std, rel=1e-9)


def test_killed_run_resumes_to_the_uninterrupted_table_with_every_clip_once(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=40, bad_at=(1, 37))
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    output, cache_dir = tmp_path / "out" / "features.parquet", tmp_path / "cache"
    script = (
        "import sys, pandas as pd; from pathlib import Path; "
        "from vietser.features.stream import extract_to_parquet; "
        "extract_to_parquet(pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False), Path(sys.argv[2]), "
        "chunk_size=5, cache_dir=Path(sys.argv[3]), min_clips_per_speaker=3)"
    )
    run = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "manifest.csv"), str(output), str(cache_dir)])
    first_part = parts_dir(output) / "part-00000.parquet"
    deadline = time.monotonic() + 60
    while not first_part.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.uniform(0.0, 0.3))
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert not output.exists()

    manifest = pd.read_csv(tmp_path / "manifest.csv", dtype=str, keep_default_na=False)
    resumed = extract_to_parquet(manifest, output, chunk_size=5, cache_dir=cache_dir, min_clips_per_speaker=3)
    table = read_features(output)
    uninterrupted = extract_to_parquet(
        manifest, tmp_path / "whole.parquet", chunk_size=5, cache_dir=tmp_path / "fresh", min_clips_per_speaker=3
    )
    assert resumed.resumed >= 5
    assert table["clip_id"].tolist() == [c for c in manifest["clip_id"] if c not in BAD_CLIPS]
    assert [clip.clip_id for clip in resumed.skipped] == list(BAD_CLIPS)
    pd.testing.assert_frame_equal(table, read_features(uninterrupted.output), check_exact=True)


def test_interrupted_run_reuses_finished_chunks_and_takes_the_rest_from_the_cache(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=12)
    output, cache_dir = tmp_path / "features.parquet", tmp_path / "cache"
    with pytest.raises(Interrupted):
        extract_to_parquet(manifest, output, chunk_size=4, cache_dir=cache_dir, progress=_stop_after(6))
    result = extract_to_parquet(manifest, output, chunk_size=4, cache_dir=cache_dir)
    assert (result.resumed, result.cached, result.computed) == (4, 2, 6)
    assert read_features(output)["clip_id"].tolist() == manifest["clip_id"].tolist()


def test_chunk_whose_file_changed_is_recomputed_on_resume(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=8)
    output, cache_dir = tmp_path / "features.parquet", tmp_path / "cache"
    with pytest.raises(Interrupted):
        extract_to_parquet(manifest, output, chunk_size=4, cache_dir=cache_dir, progress=_stop_after(5))
    changed = Path(manifest["path"][0])
    sf.write(changed, make_voice_like(300.0, 0.5, SAMPLE_RATE, seed=99), SAMPLE_RATE)
    result = extract_to_parquet(manifest, output, chunk_size=4, cache_dir=cache_dir)
    assert (result.resumed, result.computed) == (0, 4)
    assert read_features(output)["audio_sha256"][0] == file_sha256(changed)


def test_other_chunk_size_on_resume_gives_the_same_table(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=10)
    output, cache_dir = tmp_path / "features.parquet", tmp_path / "cache"
    with pytest.raises(Interrupted):
        extract_to_parquet(manifest, output, chunk_size=3, cache_dir=cache_dir, progress=_stop_after(7))
    result = extract_to_parquet(manifest, output, chunk_size=4, cache_dir=cache_dir)
    whole = extract_to_parquet(manifest, tmp_path / "whole.parquet", chunk_size=10, cache_dir=cache_dir)
    assert (result.resumed, result.rows) == (0, 10)
    pd.testing.assert_frame_equal(read_features(output), read_features(whole.output), rtol=1e-9, atol=1e-9)


def test_finished_run_leaves_only_the_table_and_reruns_from_the_cache(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=6)
    output, cache_dir = tmp_path / "features.parquet", tmp_path / "cache"
    first = extract_to_parquet(manifest, output, chunk_size=4, cache_dir=cache_dir)
    second = extract_to_parquet(manifest, output, chunk_size=4, cache_dir=cache_dir)
    assert [path.name for path in tmp_path.iterdir() if path.is_file()] == ["features.parquet"]
    assert not parts_dir(output).exists()
    assert (first.computed, first.cached, second.computed, second.cached) == (6, 0, 0, 6)


def test_each_chunk_is_one_row_group_and_the_version_is_recorded(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=9)
    result = extract_to_parquet(manifest, tmp_path / "f.parquet", chunk_size=4, sets=("prosody",))
    parquet = pq.ParquetFile(result.output)
    assert [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)] == [4, 4, 1]
    recorded = json.loads(parquet.schema_arrow.metadata[b"vietser.features"])
    assert recorded == {"feature_sets": ["prosody"], "feature_version": FEATURE_VERSION}


def test_progress_counts_up_to_every_clip_across_chunks(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=7, bad_at=(3,))
    calls: list[tuple[int, int]] = []
    extract_to_parquet(
        manifest, tmp_path / "f.parquet", chunk_size=3, sets=("prosody",), progress=lambda *call: calls.append(call)
    )
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == 8
    assert {total for _, total in calls} == {8}


def test_empty_manifest_gives_an_empty_table_with_the_feature_columns(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=1).iloc[:0]
    result = extract_to_parquet(manifest, tmp_path / "f.parquet", sets=("prosody",))
    table = read_features(result.output)
    assert result.rows == 0 and len(table) == 0
    assert "z.prosody.hnr_db" in table.columns


def test_chunk_size_below_one_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="chunk_size is 0"):
        extract_to_parquet(_corpus(tmp_path / "audio", n=1), tmp_path / "f.parquet", chunk_size=0)


def test_too_small_speaker_baseline_is_rejected_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="min_clips is 1"):
        extract_to_parquet(_corpus(tmp_path / "audio", n=1), tmp_path / "f.parquet", min_clips_per_speaker=1)
    assert not parts_dir(tmp_path / "f.parquet").exists()
