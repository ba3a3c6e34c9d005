"""Classify new recordings with a trained run: features → acoustic → routing → reasoner → Decision."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from vietser import rundir
from vietser.acoustic import load_model
from vietser.config import read_run_config
from vietser.data.audio import load_audio
from vietser.decision import Decision
from vietser.errors import ConfigError, FeatureError
from vietser.experiment import make_reasoner, split_view
from vietser.features.extract import SkippedClip, extract_features
from vietser.features.normalize import CorpusStats
from vietser.llm.client import LLMConfig
from vietser.pipeline import decide
from vietser.routing import load_router
from vietser.rules.rulebook import load_rulebook

AUDIO_SUFFIXES: frozenset[str] = frozenset({".wav", ".flac", ".ogg", ".mp3"})
SpeakerFrom = Literal["file", "folder"]


@dataclass
class PredictResult:
    """Decisions for the usable files, and every skipped file with its reason."""

    decisions: list[Decision]
    skipped: list[SkippedClip]


def audio_files(target: Path) -> list[Path]:
    """``target`` itself, or every audio file under the folder ``target`` (sorted).

    Raises:
        ConfigError: the path does not exist or the folder holds no audio.
    """
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise ConfigError(f"{target} does not exist; give an audio file or a folder of audio files")
    files = sorted(p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ConfigError(f"{target} holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    return files


def speaker_of(path: Path, speaker_from: SpeakerFrom) -> str:
    """Speaker id used for per-speaker normalisation: none (corpus baseline) or the parent folder."""
    return path.parent.name if speaker_from == "folder" else ""


class Predictor:
    """A trained run, loaded once, that decides new audio files.

    Speakers with fewer than ``min_clips_per_speaker`` files in one call are
    normalised against the training corpus' statistics saved with the model.
    """

    def __init__(self, run_dir: Path, llm: LLMConfig | None = None) -> None:
        rundir.require_run_dir(run_dir, rundir.PROFILES_FILE, rundir.RULEBOOK_FILE, "routing.json")
        self.config = read_run_config(run_dir)
        self.model = load_model(rundir.final_model_dir(run_dir))
        if self.model.corpus_stats_ is None:
            raise ConfigError(f"the model in {run_dir} has no corpus statistics; retrain it with `vietser train`")
        self.corpus_stats = CorpusStats.model_validate(self.model.corpus_stats_)
        self.profiles = rundir.read_profiles(rundir.final_model_dir(run_dir))
        self.router = load_router(run_dir)
        self.reasoner = make_reasoner(self.config, load_rulebook(run_dir / rundir.RULEBOOK_FILE), llm)

    def predict_paths(
        self,
        paths: Sequence[Path],
        speaker_from: SpeakerFrom = "file",
        jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> PredictResult:
        """Decide every file; unusable files are skipped and listed, never raised."""
        manifest = pd.DataFrame(
            {
                "clip_id": [str(p) for p in paths],
                "path": [str(Path(p).resolve()) for p in paths],
                "speaker": [speaker_of(Path(p), speaker_from) for p in paths],
            }
        )
        extracted = extract_features(
            manifest,
            sets=self.config.feature_sets,
            jobs=jobs,
            progress=progress,
            min_clips_per_speaker=self.config.min_clips_per_speaker,
            fallback=self.corpus_stats,
        )
        if extracted.frame.empty:
            return PredictResult([], extracted.skipped)
        view = split_view(self.model, self.profiles, extracted.frame, self.config)
        routes = self.router.route(view.probabilities)
        decisions = decide(view.frame, view.probabilities, view.evidence, view.confidence, routes, self.reasoner)
        return PredictResult(decisions, extracted.skipped)

    def __call__(self, path: Path) -> Decision:
        """Decide one file.

        Raises:
            AudioError: the file is empty, silent, too short or unreadable.
            FeatureError: no voiced speech could be analysed.
        """
        load_audio(path)
        result = self.predict_paths([path])
        if not result.decisions:
            raise FeatureError(path, result.skipped[0].reason if result.skipped else "no features")
        return result.decisions[0]


def load_predictor(run_dir: str | Path, llm: LLMConfig | None = None) -> Predictor:
    """Load a run directory made by `vietser train` + `vietser evaluate` (or `vietser run`)."""
    return Predictor(Path(run_dir), llm)
