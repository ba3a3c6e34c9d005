"""Exceptions raised by vietser.

Every error a user can act on derives from :class:`VietserError`::

    VietserError
    ├── ConfigError            bad run configuration
    ├── ManifestError          manifest missing columns, unknown labels, missing files
    ├── CorpusError            a public corpus directory that does not look as published
    ├── AudioError             one audio file cannot be used (always carries .path)
    │   ├── CorruptAudioError      unreadable / not audio / truncated
    │   ├── EmptyAudioError        zero samples
    │   ├── SilentAudioError       no signal above the noise floor
    │   ├── TooShortAudioError     shorter than the minimum duration
    │   └── TooLongAudioError      longer than the maximum duration (split it first)
    ├── FeatureError           feature extraction failed on a clip (carries .path)
    ├── SynthesisError         the espeak-ng demo synthesiser is unavailable or failed
    ├── ModelError             acoustic model cannot be trained / loaded
    │   ├── UntrustedModelError    model file contains types we refuse to load
    │   └── TamperedRunError       a run directory's file changed after vietser wrote it
    ├── RulebookError          invalid rulebook (names rule id and field)
    └── LLMError               LLM endpoint failed, refused or answered out of schema
"""

from __future__ import annotations

from pathlib import Path


class VietserError(Exception):
    """Base class of all errors raised by vietser."""


class ConfigError(VietserError):
    """The run configuration is invalid."""


class ManifestError(VietserError):
    """A manifest cannot be used as given."""


class CorpusError(VietserError):
    """A corpus directory does not follow its authors' published layout."""


class AudioError(VietserError):
    """One audio file cannot be used; ``path`` names it."""

    reason = "unusable audio"

    def __init__(self, path: str | Path, detail: str = "") -> None:
        self.path = str(path)
        self.detail = detail
        message = f"{self.path}: {self.reason}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class CorruptAudioError(AudioError):
    reason = "corrupt or unreadable audio file"


class EmptyAudioError(AudioError):
    reason = "audio file contains no samples"


class SilentAudioError(AudioError):
    reason = "audio is silent (no signal above the noise floor)"


class TooShortAudioError(AudioError):
    reason = "audio is too short"


class TooLongAudioError(AudioError):
    reason = "audio is too long"


class FeatureError(VietserError):
    """Feature extraction failed on one clip; ``path`` names it."""

    def __init__(self, path: str | Path, detail: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: feature extraction failed ({detail})")


class SynthesisError(VietserError):
    """The espeak-ng synthesiser used for the demo corpus failed."""


class ModelError(VietserError):
    """An acoustic model cannot be trained, loaded or applied."""


class UntrustedModelError(ModelError):
    """A model file holds object types that are not on the trusted list."""


class TamperedRunError(ModelError):
    """A file a run directory decides with does not match the SHA-256 vietser recorded when writing it."""


class RulebookError(VietserError):
    """A rulebook is invalid; the message names the rule id and field."""


class LLMError(VietserError):
    """An LLM call failed, was refused or returned an answer outside the schema."""
