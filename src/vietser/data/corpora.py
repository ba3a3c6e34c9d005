"""Manifests for public emotion corpora, laid out as their authors publish them.

Each adapter searches ``root`` recursively for ``.wav``/``.flac`` files (other
files, hidden files and ``__MACOSX`` folders are ignored) and reads labels from
the published file names. **RAVDESS**: ``Actor_XX/MM-VV-EE-II-SS-RR-AA.wav``
(modality, vocal channel 01 speech / 02 song, emotion 01 neutral 02 calm
03 happy 04 sad 05 angry 06 fearful 07 disgust 08 surprised, intensity,
statement, repetition, actor; odd actors are male); song files are left out.
**CREMA-D**: ``AudioWAV/AAAA_SSS_EEE_LL.wav`` (actor, sentence code, emotion
ANG DIS FEA HAP NEU SAD, level LO MD HI XX). **TESS**:
``OAF_angry/OAF_back_angry.wav`` (speaker OAF or YAF, the spoken word, emotion
angry disgust fear happy neutral ps sad); the folder names speaker and emotion,
because the release misnames ``OAF_neutral/OA_bite_neutral.wav``. TESS has two
speakers only, so its speaker split has one train and one test speaker and no
dev split. **EmoDB**: ``wav/03a01Fa.wav`` (speaker, text code, emotion letter
W anger, L boredom, E disgust, A fear, F happiness, T sadness, N neutral,
version). By default neutral (and RAVDESS calm) → calm, anger → angry and fear
→ panic; other emotions are left out. Left-out files are counted per original
emotion in ``CorpusManifest.left_out``, next to "unrecognised file name",
"duplicate file name" (the same file name twice, as in archives that hold the
corpus twice) and, for RAVDESS, "song".
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pandas as pd

from vietser.data.label_map import LabelMapSpec, parse_label_map
from vietser.data.splits import assign_speaker_splits
from vietser.errors import ConfigError, CorpusError

AUDIO_SUFFIXES = (".wav", ".flac")
UNRECOGNISED = "unrecognised file name"
DUPLICATE = "duplicate file name"
SONG = "song"


class Corpus(str, Enum):
    """Public corpora with an adapter."""

    RAVDESS = "ravdess"
    CREMA_D = "crema-d"
    TESS = "tess"
    EMODB = "emodb"


@dataclass(frozen=True)
class CorpusManifest:
    """A corpus as a manifest frame, plus how many files were left out and why."""

    frame: pd.DataFrame
    left_out: dict[str, int]


@dataclass(frozen=True)
class _Clip:
    speaker: str
    emotion: str
    transcript: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class _Convention:
    corpus: Corpus
    layout: str
    emotions: Mapping[str, str]  # every spelling used by the corpus -> emotion name
    default_map: Mapping[str, str]  # emotion name -> class; unlisted names are left out
    parse: Callable[[Path], _Clip | str]  # a string names why the file is left out


_RAVDESS_EMOTIONS = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised",
}  # fmt: skip
_RAVDESS_STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
_RAVDESS_RE = re.compile(r"(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})")

_CREMAD_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
_CREMAD_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
_CREMAD_SENTENCES = {
    "IEO": "It's eleven o'clock.", "TIE": "That is exactly what happened.",
    "IOM": "I'm on my way to the meeting.", "IWW": "I wonder what this is about.",
    "TAI": "The airplane is almost full.", "MTI": "Maybe tomorrow it will be cold.",
    "IWL": "I would like a new alarm clock.", "ITH": "I think I have a doctor's appointment.",
    "DFA": "Don't forget a jacket.", "ITS": "I think I've seen this before.",
    "TSI": "The surface is slick.", "WSI": "We'll stop in a couple of minutes.",
}  # fmt: skip
_CREMAD_RE = re.compile(r"(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})", re.IGNORECASE)

_TESS_EMOTIONS = {
    "angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy", "neutral": "neutral", "sad": "sad",
    "ps": "pleasant_surprise", "pleasant_surprise": "pleasant_surprise", "pleasant_surprised": "pleasant_surprise",
}  # fmt: skip
_TESS_FOLDER_RE = re.compile(r"(OAF|YAF)_([a-z_]+)", re.IGNORECASE)
_TESS_FILE_RE = re.compile(r"(OAF?|YAF?)_([a-z]+)_([a-z]+)", re.IGNORECASE)

_EMODB_EMOTIONS = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness", "N": "neutral",
}  # fmt: skip
_EMODB_GENDERS = {"03": "male", "08": "female", "09": "female", "10": "male", "11": "male",
                  "12": "male", "13": "female", "14": "female", "15": "male", "16": "female"}  # fmt: skip
_EMODB_TEXTS = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
_EMODB_RE = re.compile(r"(\d{2})([a-z]\d{2})([WLEAFTN])([a-z])")


def _parse_ravdess(path: Path) -> _Clip | str:
    match = _RAVDESS_RE.fullmatch(path.stem)
    if not match or match[3] not in _RAVDESS_EMOTIONS or match[2] not in ("01", "02"):
        return UNRECOGNISED
    if match[2] == "02":
        return SONG
    _, _, emotion, intensity, statement, repetition, actor = match.groups()
    return _Clip(
        speaker=f"ravdess_{actor}",
        emotion=_RAVDESS_EMOTIONS[emotion],
        transcript=_RAVDESS_STATEMENTS.get(statement, ""),
        metadata={
            "intensity": {"01": "normal", "02": "strong"}.get(intensity, intensity),
            "statement": statement,
            "repetition": repetition,
            "gender": "male" if int(actor) % 2 else "female",
        },
    )


def _parse_cremad(path: Path) -> _Clip | str:
    match = _CREMAD_RE.fullmatch(path.stem)
    if not match or match[3].upper() not in _CREMAD_EMOTIONS:
        return UNRECOGNISED
    actor, sentence, emotion, level = (part.upper() for part in match.groups())
    return _Clip(
        speaker=f"cremad_{actor}",
        emotion=_CREMAD_EMOTIONS[emotion],
        transcript=_CREMAD_SENTENCES.get(sentence, ""),
        metadata={"sentence": sentence, "level": _CREMAD_LEVELS.get(level, level.lower())},
    )


def _parse_tess(path: Path) -> _Clip | str:
    file_match = _TESS_FILE_RE.fullmatch(path.stem)
    folder_match = _TESS_FOLDER_RE.fullmatch(path.parent.name)
    if not file_match:
        return UNRECOGNISED
    if folder_match and folder_match[2].lower() in _TESS_EMOTIONS:
        speaker, emotion = folder_match[1], folder_match[2]
    else:
        speaker, emotion = file_match[1], file_match[3]
    if emotion.lower() not in _TESS_EMOTIONS:
        return UNRECOGNISED
    word = file_match[2].lower()
    # "OA"/"YA" are the release's misspellings of OAF/YAF.
    return _Clip(
        speaker=f"tess_{speaker.upper()[:2]}F",
        emotion=_TESS_EMOTIONS[emotion.lower()],
        transcript=f"Say the word {word}.",
        metadata={"word": word, "gender": "female"},
    )


def _parse_emodb(path: Path) -> _Clip | str:
    match = _EMODB_RE.fullmatch(path.stem)
    if not match:
        return UNRECOGNISED
    speaker, text, emotion, version = match.groups()
    return _Clip(
        speaker=f"emodb_{speaker}",
        emotion=_EMODB_EMOTIONS[emotion],
        transcript=_EMODB_TEXTS.get(text, ""),
        metadata={"text": text, "version": version, "gender": _EMODB_GENDERS.get(speaker, "")},
    )


def _spellings(codes: Mapping[str, str]) -> dict[str, str]:
    """Codes and names alike, lower-cased, each pointing to the emotion name."""
    return {code.lower(): name for code, name in codes.items()} | {name: name for name in codes.values()}


_CONVENTIONS: dict[Corpus, _Convention] = {
    Corpus.RAVDESS: _Convention(
        Corpus.RAVDESS,
        "Actor_XX/03-01-EE-II-SS-RR-AA.wav (seven two-digit fields, e.g. Actor_01/03-01-05-01-01-01-01.wav)",
        _spellings(_RAVDESS_EMOTIONS),
        {"neutral": "calm", "calm": "calm", "angry": "angry", "fearful": "panic"},
        _parse_ravdess,
    ),
    Corpus.CREMA_D: _Convention(
        Corpus.CREMA_D,
        "AudioWAV/AAAA_SSS_EEE_LL.wav (e.g. AudioWAV/1001_DFA_ANG_XX.wav)",
        _spellings(_CREMAD_EMOTIONS),
        {"neutral": "calm", "anger": "angry", "fear": "panic"},
        _parse_cremad,
    ),
    Corpus.TESS: _Convention(
        Corpus.TESS,
        "SPEAKER_emotion/SPEAKER_word_emotion.wav (e.g. OAF_angry/OAF_back_angry.wav, YAF_fear/YAF_bar_fear.wav)",
        _TESS_EMOTIONS,
        {"neutral": "calm", "angry": "angry", "fear": "panic"},
        _parse_tess,
    ),
    Corpus.EMODB: _Convention(
        Corpus.EMODB,
        "wav/SSTTTEV.wav (speaker, text, emotion letter, version; e.g. wav/03a01Fa.wav)",
        _spellings(_EMODB_EMOTIONS),
        {"neutral": "calm", "anger": "angry", "fear": "panic"},
        _parse_emodb,
    ),
}


def _emotion_map(convention: _Convention, label_map: LabelMapSpec | None) -> dict[str, str | None]:
    names = sorted(set(convention.emotions.values()))
    mapping: dict[str, str | None] = {name: convention.default_map.get(name) for name in names}
    aliases = {spelling.casefold(): name for spelling, name in convention.emotions.items()}
    for key, target in parse_label_map(label_map or {}).items():
        if key not in aliases:
            raise ConfigError(
                f"{convention.corpus.value}: the label map names {key!r}, which is not an emotion of this corpus; "
                f"its emotions are {', '.join(names)}."
            )
        mapping[aliases[key]] = target
    return mapping


def _audio_files(root: Path) -> list[Path]:
    def visible(path: Path) -> bool:
        parts = path.relative_to(root).parts
        return not any(part.startswith(".") or part == "__MACOSX" for part in parts)

    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and visible(p) and p.is_file())


def _no_clips_error(convention: _Convention, root: Path, left_out: Counter[str], examples: list[str]) -> CorpusError:
    name = convention.corpus.value
    if sum(left_out.values()) == left_out[UNRECOGNISED]:
        found = f"; found only other names, e.g. {', '.join(examples)}" if examples else "; found no .wav/.flac files"
        return CorpusError(f"{root} does not look like {name}: expected files named {convention.layout}{found}.")
    counts = ", ".join(f"{key}: {count}" for key, count in sorted(left_out.items()))
    return CorpusError(
        f"{root}: every {name} file was left out ({counts}); map at least one emotion to a class with label_map."
    )


def _build(convention: _Convention, root: str | Path, label_map: LabelMapSpec | None) -> CorpusManifest:
    root_path = Path(root)
    if not root_path.is_dir():
        name = convention.corpus.value
        raise CorpusError(f"{root_path} is not a folder; give the {name} folder, laid out as {convention.layout}.")
    mapping = _emotion_map(convention, label_map)
    rows: list[dict[str, str]] = []
    left_out: Counter[str] = Counter()
    seen: set[str] = set()
    unrecognised: list[str] = []
    for path in _audio_files(root_path):
        clip = convention.parse(path)
        if isinstance(clip, str):
            left_out[clip] += 1
            if clip == UNRECOGNISED:
                unrecognised.append(path.name)
            continue
        if path.name.lower() in seen:
            left_out[DUPLICATE] += 1
            continue
        seen.add(path.name.lower())
        label = mapping[clip.emotion]
        if label is None:
            left_out[clip.emotion] += 1
        else:
            rows.append(_row(root_path, path, clip, label, convention.corpus))
    if not rows:
        raise _no_clips_error(convention, root_path, left_out, unrecognised[:3])
    frame = assign_speaker_splits(pd.DataFrame(rows))
    fixed = ["clip_id", "path", "label", "speaker", "split", "transcript", "corpus", "original_emotion"]
    frame = frame[fixed + [column for column in frame.columns if column not in fixed]]
    return CorpusManifest(frame=frame, left_out=dict(sorted(left_out.items())))


def _row(root: Path, path: Path, clip: _Clip, label: str, corpus: Corpus) -> dict[str, str]:
    return {
        "clip_id": path.relative_to(root).as_posix(),
        "path": os.path.abspath(path),
        "label": label,
        "speaker": clip.speaker,
        "transcript": clip.transcript,
        "corpus": corpus.value,
        "original_emotion": clip.emotion,
        **clip.metadata,
    }


def ravdess_manifest(root: str | Path, label_map: LabelMapSpec | None = None) -> CorpusManifest:
    """RAVDESS speech files as a manifest; ``label_map`` overrides {emotion: class or None}."""
    return _build(_CONVENTIONS[Corpus.RAVDESS], root, label_map)


def crema_d_manifest(root: str | Path, label_map: LabelMapSpec | None = None) -> CorpusManifest:
    """CREMA-D ``AudioWAV`` files as a manifest; ``label_map`` overrides {emotion: class or None}."""
    return _build(_CONVENTIONS[Corpus.CREMA_D], root, label_map)


def tess_manifest(root: str | Path, label_map: LabelMapSpec | None = None) -> CorpusManifest:
    """TESS as a manifest (two speakers: train and test, no dev); ``label_map`` overrides {emotion: class or None}."""
    return _build(_CONVENTIONS[Corpus.TESS], root, label_map)


def emodb_manifest(root: str | Path, label_map: LabelMapSpec | None = None) -> CorpusManifest:
    """EmoDB as a manifest; ``label_map`` overrides {emotion: class or None}."""
    return _build(_CONVENTIONS[Corpus.EMODB], root, label_map)


ADAPTERS: dict[Corpus, Callable[[str | Path, LabelMapSpec | None], CorpusManifest]] = {
    Corpus.RAVDESS: ravdess_manifest,
    Corpus.CREMA_D: crema_d_manifest,
    Corpus.TESS: tess_manifest,
    Corpus.EMODB: emodb_manifest,
}


def build_corpus_manifest(
    name: str | Corpus,
    root: str | Path,
    label_map: LabelMapSpec | None = None,
) -> CorpusManifest:
    """Build the manifest of the named corpus ("ravdess", "crema-d", "tess", "emodb") found under ``root``.

    Args:
        name: corpus name; case, hyphens and underscores are ignored ("CREMA_D" works).
        root: the corpus folder as unpacked from its publisher.
        label_map: overrides of the default {original emotion: class or None};
            keys may be emotion names or the corpus's own codes ("NEU", "W", "05").

    Raises:
        ConfigError: unknown corpus name or label map entry.
        CorpusError: ``root`` holds no usable files named as the corpus publishes them.
    """
    wanted = re.sub(r"[^a-z0-9]", "", str(getattr(name, "value", name)).lower())
    for corpus in Corpus:
        if re.sub(r"[^a-z0-9]", "", corpus.value) == wanted:
            return ADAPTERS[corpus](root, label_map)
    raise ConfigError(f"unknown corpus {name!r}; choose one of {', '.join(c.value for c in Corpus)}.")
