"""Checks on an uploaded audio file before it reaches the predictor."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import soundfile as sf
from fastapi import HTTPException

from vietser.errors import AudioError, CorruptAudioError

FORMATS: dict[str, str] = {".wav": "WAV", ".flac": "FLAC", ".ogg": "Ogg", ".mp3": "MP3"}
_CHUNK = 1 << 16


def format_size(size: int) -> str:
    """'20.0 MB' or '900 bytes'."""
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def sniff_format(head: bytes) -> str | None:
    """The container format the first bytes announce (a key of FORMATS' values), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:4] == b"OggS":
        return "Ogg"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    return None


def display_name(filename: str | None) -> str:
    """The uploaded file's base name, for messages and the decision's clip id."""
    return Path((filename or "").replace("\\", "/")).name or "upload"


def save_upload(source: BinaryIO, name: str, directory: Path, max_bytes: int) -> Path:
    """Copy an upload to ``directory`` after checking its type and size.

    Raises:
        HTTPException: 415 for a name or content that is not wav/flac/ogg/mp3,
            413 above ``max_bytes``, 422 for an empty file.
    """
    suffix = Path(name).suffix.lower()
    accepted = ", ".join(FORMATS)
    if suffix not in FORMATS:
        raise HTTPException(415, f"{name}: unsupported file type '{suffix or 'none'}'; upload one of {accepted}.")
    target = directory / f"upload{suffix}"
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise HTTPException(413, f"{name}: larger than the upload limit of {format_size(max_bytes)}.")
            out.write(chunk)
    if size == 0:
        raise HTTPException(422, f"{name}: the file is empty (0 bytes); upload a recording.")
    with target.open("rb") as handle:
        found = sniff_format(handle.read(12))
    if found != FORMATS[suffix]:
        content = f"{found} audio" if found else "not audio in any accepted format"
        raise HTTPException(415, f"{name}: named {suffix} but its content is {content}; upload a real {accepted} file.")
    return target


def check_duration(path: Path, name: str, max_duration_s: float) -> float:
    """Duration of the file in seconds, read from its header.

    Raises:
        CorruptAudioError: the header cannot be decoded.
        HTTPException: 422 when longer than ``max_duration_s``.
    """
    try:
        duration = float(sf.info(str(path)).duration)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise CorruptAudioError(path, str(exc).strip() or type(exc).__name__) from exc
    if duration > max_duration_s:
        raise HTTPException(
            422, f"{name}: audio is {duration:.1f} s long; the limit is {max_duration_s:g} s. Upload a shorter excerpt."
        )
    return duration


def audio_error_message(error: AudioError, saved: Path, name: str) -> str:
    """The error's message about the uploaded file, naming it as the user did."""
    detail = error.detail.replace(str(saved), name)
    return f"{name}: {error.reason}" + (f" ({detail})" if detail else "") + "."
