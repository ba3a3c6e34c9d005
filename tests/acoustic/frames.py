"""Generated feature tables laid out like features.parquet (no audio involved)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

from vietser.features.catalog import SPREAD_FEATURES
from vietser.features.normalize import normalize_by_speaker
from vietser.labels import CLASSES

FrameMaker = Callable[..., pd.DataFrame]


def make_feature_frame(
    n_speakers: int = 12,
    clips_per_speaker: int = 30,
    n_egemaps: int = 8,
    n_prosody: int = 4,
    n_emobase: int = 6,
    class_sep: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Three overlapping classes, per-speaker offsets on the raw columns, speakers split 60/20/20;
    the emobase columns mix the eGeMAPS and prosody ones with noise.

    ``z.`` columns are each raw column z-scored within its speaker, as the feature stage does.
    """
    rng = np.random.default_rng(seed)
    n = n_speakers * clips_per_speaker
    X, y = make_classification(
        n_samples=n,
        n_features=n_egemaps + n_prosody,
        n_informative=min(6, n_egemaps + n_prosody),
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=class_sep,
        flip_y=0.05,
        random_state=seed,
    )
    speakers = np.repeat([f"spk{i:02d}" for i in range(n_speakers)], clips_per_speaker)
    rng.shuffle(speakers)
    X = X + rng.normal(0, 1.5, size=(n_speakers, X.shape[1]))[np.searchsorted(np.unique(speakers), speakers)]
    # emobase columns: noisy mixtures of the others, as a wide set partly repeats the small one
    X = np.hstack([X, X @ rng.normal(0, 0.5, size=(X.shape[1], n_emobase)) + rng.normal(0, 1.0, size=(n, n_emobase))])
    names = [f"egemaps.f{i}" for i in range(n_egemaps)] + [f"prosody.p{i}" for i in range(n_prosody)]
    names += [f"emobase.e{i}" for i in range(n_emobase)]
    frame = pd.DataFrame(X, columns=names)
    z = frame.groupby(speakers).transform(lambda s: (s - s.mean()) / s.std(ddof=0))
    frame = pd.concat([frame, z.add_prefix("z.")], axis=1)
    order = np.unique(speakers)
    n_train, n_dev = int(0.6 * n_speakers), int(0.2 * n_speakers)
    split_of = {s: "train" if i < n_train else "dev" if i < n_train + n_dev else "test" for i, s in enumerate(order)}
    meta = pd.DataFrame(
        {
            "clip_id": [f"clip{i:05d}.wav" for i in range(n)],
            "label": np.array(CLASSES)[y],
            "speaker": speakers,
            "split": [split_of[s] for s in speakers],
        }
    )
    return pd.concat([meta, frame], axis=1)


AROUSAL_COLUMNS = [*SPREAD_FEATURES[:4], "egemaps.loudness_sma3_amean", "prosody.jitter_local"]


def train_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the train split: what a run fits the acoustic model on."""
    return frame[frame["split"] == "train"]


def arousal_corpus(
    n_speakers: int = 12, calm: int = 12, aroused: int = 8, seed: int = 0, offset_std: float | np.ndarray = 3.0
) -> pd.DataFrame:
    """Raw cues that rise with arousal (angry on the first half of the columns, panic on the second),
    each speaker with an offset of their own (``offset_std``: its spread, per column or for all), then
    per-speaker z as the feature stage makes it."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_speakers):
        offset = rng.normal(0, 1, len(AROUSAL_COLUMNS)) * offset_std
        for label, count in (("calm", calm), ("angry", aroused), ("panic", aroused)):
            for _ in range(count):
                shift = np.zeros(len(AROUSAL_COLUMNS))
                if label == "angry":
                    shift[:4] = 2.5
                    shift[4:] = 1.0
                elif label == "panic":
                    shift[:2] = 1.0
                    shift[2:] = 2.0
                values = offset + shift + rng.normal(0, 1, len(AROUSAL_COLUMNS))
                rows.append({"speaker": f"s{s:02d}", "label": label, **dict(zip(AROUSAL_COLUMNS, values))})
    frame = pd.DataFrame(rows)
    frame.insert(0, "clip_id", [f"c{i:05d}" for i in range(len(frame))])
    return pd.concat([frame, normalize_by_speaker(frame, AROUSAL_COLUMNS)], axis=1).assign(split="train")
