"""Parallel feature workers end with the `vietser` process that started them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.features.test_stream import _corpus

LOKY_WORKER = "joblib.externals.loky.backend.popen_loky_posix"


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in parent.children(recursive=True):
        try:
            if LOKY_WORKER in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _wait_for_workers(parent: psutil.Process, count: int, timeout_s: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and parent.is_running():
        workers = _workers(parent)
        if len(workers) >= count:
            return workers
        time.sleep(0.05)
    raise AssertionError(f"vietser features did not start {count} workers within {timeout_s} s")


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Processes still running; a zombie has ended (its new parent may not have reaped it yet)."""
    alive = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and loky's POSIX workers")
def test_kill_9_of_vietser_features_ends_its_workers(tmp_path: Path) -> None:
    manifest = _corpus(tmp_path / "audio", n=60)
    manifest.drop(columns="clip_id").assign(speaker="spk").to_csv(tmp_path / "manifest.csv", index=False)
    command = [sys.executable, "-c", "from vietser.cli import app; app()", "features", str(tmp_path / "manifest.csv")]
    command += ["-o", str(tmp_path / "features.parquet"), "-j", "2", "--cache-dir", str(tmp_path / "cache")]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(run.pid)
    children: list[psutil.Process] = []
    try:
        _wait_for_workers(parent, 2, timeout_s=60)
        children = parent.children(recursive=True)
        run.send_signal(signal.SIGKILL)
        assert run.wait() == -signal.SIGKILL, "the run finished before it could be killed"
        deadline = time.monotonic() + 15
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(children), f"still running after kill -9: {[p.pid for p in _alive(children)]}"
    finally:
        for process in [parent, *children]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
