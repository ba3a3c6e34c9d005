"""Per-clip feature cache: one small JSON file per (audio content, feature set).

Entries are keyed by the audio's SHA-256, the feature-set name,
:data:`FEATURE_VERSION` and the analysis sample rate, so renaming or moving a
file keeps its features, and changing an extractor (bump the version)
invalidates them. Files are written atomically (temporary file, then
``os.replace``): an interrupted run leaves only complete entries, and a
rerun computes just what is missing.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Bump whenever an extractor's output changes; old entries are then ignored, and models
# trained on the old features refuse to load. 2: openSMILE reads the utterance without its padding.
FEATURE_VERSION = 2
CACHE_ENV = "VIETSER_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$VIETSER_CACHE_DIR/features``, else ``~/.cache/vietser/features``."""
    return _cache_root() / "features"


def channel_cache_dir() -> Path:
    """Where training clips through simulated channels are kept: ``$VIETSER_CACHE_DIR/channels``."""
    return _cache_root() / "channels"


def _cache_root() -> Path:
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "vietser"


@dataclass(frozen=True)
class CachedFeatures:
    """One feature set of one clip, with the clip's duration."""

    duration_s: float
    values: dict[str, float]


class FeatureCache:
    """Feature files under ``root``, grouped in folders by the first two hash digits."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, audio_sha256: str, feature_set: str, sample_rate: int) -> Path:
        name = f"{audio_sha256}.{feature_set}.v{FEATURE_VERSION}.{sample_rate}hz.json"
        return self.root / audio_sha256[:2] / name

    def get(self, audio_sha256: str, feature_set: str, sample_rate: int) -> CachedFeatures | None:
        """The stored entry, or None when absent or unreadable (then it is recomputed)."""
        try:
            data = json.loads(self.path(audio_sha256, feature_set, sample_rate).read_text(encoding="utf-8"))
            entry = CachedFeatures(
                duration_s=float(data["duration_s"]),
                values={str(key): float(value) for key, value in data["values"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if not all(math.isfinite(value) for value in entry.values.values()):
            return None
        return entry

    def put(self, audio_sha256: str, feature_set: str, sample_rate: int, entry: CachedFeatures) -> None:
        """Store an entry atomically."""
        target = self.path(audio_sha256, feature_set, sample_rate)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"duration_s": entry.duration_s, "values": entry.values})
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=target.parent, prefix=".tmp-", suffix=".json", delete=False
        ) as handle:
            handle.write(payload)
        os.replace(handle.name, target)
