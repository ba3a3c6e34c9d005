"""Classify new recordings with a trained run: features → acoustic → routing → reasoner → Decision."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from vietser.acoustic.priors import TargetPriors
from vietser.config import read_reasoning_config
from vietser.data.audio import AUDIO_SUFFIXES, load_audio
from vietser.data.manifest import speaker_id
from vietser.decision import Decision
from vietser.errors import ConfigError, FeatureError
from vietser.features.extract import SkippedClip, extract_features
from vietser.evidence import REFERENCE_COLUMN
from vietser.features.normalize import (
    SPEAKER_COLUMN,
    CorpusStats,
    has_speaker_baseline,
    normalize_by_speaker,
    reference_stats,
)
from vietser.features.raw import raw_feature_columns
from vietser.integrity import DECIDING_FILES, verify_checksums
from vietser.llm.client import LLMConfig, LLMOverrides, PromptTemplates
from vietser.pipeline import decide, make_reasoner, out_of_domain, split_view
from vietser.run.dir import PROFILES_FILE, ROUTER_FILE, RULEBOOK_FILE, RunDir

SpeakerFrom = Literal["file", "folder"]


@dataclass
class PredictResult:
    """Decisions for the usable files, and every skipped file with its reason; ``without_baseline``
    counts the decided files read with no baseline of their speaker and no reference (each alone,
    against the training corpus)."""

    decisions: list[Decision]
    skipped: list[SkippedClip]
    without_baseline: int = 0


@dataclass(frozen=True)
class AudioListing:
    """The audio files to decide, and every entry that looked like one but cannot be read as a file."""

    files: list[Path]
    skipped: list[SkippedClip]


def list_audio(target: Path) -> AudioListing:
    """``target`` itself, or every audio file under the folder ``target`` (sorted).

    Folders reached through a symbolic link are not entered, so a link loop
    cannot make the walk endless. They, folders named like audio files,
    broken links, link loops, special files and unreadable folders are
    listed in ``skipped`` with the reason.

    Raises:
        ConfigError: the path does not exist, or the folder holds no audio and nothing to skip.
    """
    if not os.path.lexists(target):
        raise ConfigError(f"{target} does not exist; give an audio file or a folder of audio files")
    if not target.is_dir():
        return _sorted_listing([target], [])
    candidates: list[Path] = []
    skipped: list[SkippedClip] = []

    def unreadable(error: OSError) -> None:
        skipped.append(_skip(Path(error.filename), f"cannot list folder: {error.strerror}"))

    for folder, folders, names in os.walk(target, onerror=unreadable):
        for name in folders:
            path = Path(folder, name)
            if path.is_symlink():
                skipped.append(_skip(path, "symbolic link to a folder, not followed; give its target to predict"))
            elif path.suffix.lower() in AUDIO_SUFFIXES:
                skipped.append(_skip(path, "a folder, not an audio file"))
        candidates += [Path(folder, name) for name in names if Path(name).suffix.lower() in AUDIO_SUFFIXES]
    if not candidates and not skipped:
        raise ConfigError(f"{target} holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    return _sorted_listing(candidates, skipped)


def _sorted_listing(candidates: list[Path], skipped: list[SkippedClip]) -> AudioListing:
    reasons = {path: _not_a_file(path) for path in candidates}
    files = sorted(path for path, reason in reasons.items() if reason is None)
    unusable = [_skip(path, reason) for path, reason in reasons.items() if reason is not None]
    return AudioListing(files, _by_path([*skipped, *unusable]))


def _not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as an audio file, or None for a regular file (or a link to one)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.ENOENT and path.is_symlink():
            return f"broken symbolic link (its target {os.readlink(path)} does not exist)"
        return f"cannot read file: {exc.strerror or exc}"
    return None if stat.S_ISREG(mode) else "not a regular file (a pipe, socket or device)"


def _by_path(skipped: list[SkippedClip]) -> list[SkippedClip]:
    return sorted(skipped, key=lambda clip: Path(clip.path))


def _skip(path: Path, reason: str) -> SkippedClip:
    return SkippedClip(str(path), os.path.abspath(path), reason)


def speaker_of(path: Path, speaker_from: SpeakerFrom) -> str:
    """Speaker id used for per-speaker normalisation: none (corpus baseline) or the parent folder."""
    return speaker_id(path.parent.name) if speaker_from == "folder" else ""


class Predictor:
    """A trained run, loaded once, that decides new audio files.

    Speakers with fewer than ``min_clips_per_speaker`` files in one call are
    normalised against the training corpus' statistics saved with the model.
    ``priors`` are the deployment's class priors (e.g. mostly calm calls), or
    ``"auto"`` to estimate them from each batch of files by EM.
    ``llm`` replaces the run's LLM settings; prompt templates come only from
    ``templates`` (:func:`~vietser.config.read_reasoning_config`).

    Raises:
        TamperedRunError: a file the run decides with changed after vietser wrote it.
        ConfigError: the run's config names a prompt template that ``templates`` does not.
    """

    def __init__(
        self,
        run_dir: Path,
        llm: LLMConfig | LLMOverrides | None = None,
        templates: PromptTemplates = PromptTemplates(),
        priors: TargetPriors = None,
    ) -> None:
        self.priors = priors
        run = RunDir(run_dir).require(PROFILES_FILE, RULEBOOK_FILE, ROUTER_FILE)
        verify_checksums(run_dir, DECIDING_FILES)
        self.config = read_reasoning_config(run_dir, llm, templates)
        self.model = run.final_model.read_deployed_model()
        if self.model.corpus_stats is None:
            raise ConfigError(f"the model in {run_dir} has no corpus statistics; retrain it with `vietser train`")
        self.corpus_stats = CorpusStats.model_validate(self.model.corpus_stats)
        self.profiles = run.final_model.read_profiles()
        self.router = run.read_router()
        self.reasoner = make_reasoner(self.config, run.read_rulebook())
        self.reference: CorpusStats | None = None

    def use_reference(self, folder: Path, jobs: int = 1) -> list[SkippedClip]:
        """Read every file decided from now on against the recordings under ``folder`` (a few ordinary
        recordings of the speaker, channel or domain, taken as calm speech) instead of its own speaker's
        clips; returns the reference files that could not be used.

        Every clip is decided by the model's companion for clips without a baseline, its raw features
        moved so that the reference lands on the training corpus' calm clips
        (:func:`~vietser.features.normalize.anchored_to_calm`); its ``z.`` evidence is read against
        the reference.

        Raises:
            ConfigError: the folder holds fewer than 2 usable recordings, or the model keeps no calm
                statistics (trained before they were kept, or without speaker normalisation).
        """
        if self.model.calm_stats_ is None:
            raise ConfigError(
                "this run's model keeps no statistics of its calm training clips, which a reference is read "
                "against (it was trained before they were kept, or without speaker normalisation); retrain "
                "it with `vietser run`"
            )
        listing = list_audio(folder)
        paths = [str(path.resolve()) for path in listing.files]
        manifest = pd.DataFrame({"clip_id": paths, "path": paths})
        extracted = extract_features(manifest, sets=self.config.feature_sets, jobs=jobs)
        skipped = [*listing.skipped, *extracted.skipped]
        source = str(folder)
        if skipped:
            source += f" ({len(skipped)} skipped, e.g. {skipped[0].path}: {skipped[0].reason})"
        self.reference = reference_stats(extracted.frame, raw_feature_columns(extracted.frame), source)
        self.model.reference = self.reference
        return skipped

    def predict_target(
        self,
        target: Path,
        speaker_from: SpeakerFrom = "file",
        jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> PredictResult:
        """Decide a file or every audio file under a folder; ``skipped`` lists every entry not decided.

        Raises:
            ConfigError: as :func:`list_audio`.
        """
        listing = list_audio(target)
        if not listing.files:
            return PredictResult([], listing.skipped)
        result = self.predict_paths(listing.files, speaker_from, jobs, progress)
        return PredictResult(result.decisions, _by_path([*listing.skipped, *result.skipped]), result.without_baseline)

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
        return self.predict_manifest(manifest, jobs, progress)

    def predict_manifest(
        self, manifest: pd.DataFrame, jobs: int = 1, progress: Callable[[int, int], None] | None = None
    ) -> PredictResult:
        """Decide every clip of a manifest (``clip_id``, ``path``, ``speaker``; ``label`` kept as the
        decisions' ``true_label``); unusable clips are skipped and listed, never raised."""
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
        frame = extracted.frame if self.reference is None else self._against_reference(extracted.frame)
        view = split_view(self.model, self.profiles, frame, self.config, self.priors)
        routes = self.router.route(view.probabilities, out_of_domain(view.frame))
        decisions = decide(view.frame, view.probabilities, view.evidence, view.confidence, routes, self.reasoner)
        return PredictResult(decisions, extracted.skipped, self._without_baseline(extracted.frame))

    def _without_baseline(self, frame: pd.DataFrame) -> int:
        """How many rows are read with neither a baseline of their own speaker nor a reference."""
        if self.reference is not None:
            return 0
        return int((~has_speaker_baseline(frame, self.config.min_clips_per_speaker)).sum())

    def _against_reference(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with ``z.`` against the reference and no baseline of its own, so the companion
        decides every row (the model anchors it on the calm training clips)."""
        assert self.reference is not None
        normalised = normalize_by_speaker(
            frame.drop(columns=SPEAKER_COLUMN, errors="ignore"), raw_feature_columns(frame), fallback=self.reference
        )
        kept = frame.drop(columns=[c for c in frame.columns if c in normalised.columns])
        return pd.concat([kept, normalised], axis=1).assign(**{REFERENCE_COLUMN: True})

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


def load_predictor(
    run_dir: str | Path,
    llm: LLMConfig | LLMOverrides | None = None,
    templates: PromptTemplates = PromptTemplates(),
    priors: TargetPriors = None,
) -> Predictor:
    """Load a run directory made by `vietser train` + `vietser evaluate` (or `vietser run`)."""
    return Predictor(Path(run_dir), llm, templates, priors)
