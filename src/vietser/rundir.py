"""Run-directory names under their old module, for :mod:`vietser.adapt` and :mod:`vietser.transfer`.

Every name and format lives in :mod:`vietser.run.dir` (:class:`~vietser.run.dir.RunDir`); these only forward to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vietser.run.dir import ADAPTATION_FILE, FEATURES_FILE, TRANSFER_DIR, RunDir

if TYPE_CHECKING:
    from vietser.evidence import ClassProfiles

__all__ = ["ADAPTATION_FILE", "FEATURES_FILE", "TRANSFER_DIR", "final_model_dir", "write_profiles"]


def write_profiles(profiles: ClassProfiles, run_dir: Path) -> None:
    RunDir(run_dir).write_profiles(profiles)


def final_model_dir(run_dir: Path) -> Path:
    return RunDir(run_dir).final_model.root
