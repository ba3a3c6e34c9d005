"""Generated dev sets for refinement tests: evidence and acoustic probabilities built directly.

The planted problem: panic clips have a much higher pitch (z) than their speaker's
baseline, but the acoustic model mistakes half of them for angry (unsure, so they
are delegated), and the starting rulebook has no panic rule on pitch. A bad
``angry-fast`` rule makes it worse: it fires on fast speech, which panic shares.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from vietser.decision import ClipEvidence, Route
from vietser.labels import CLASSES
from vietser.refine.devset import DevSet
from vietser.rules.rulebook import Condition, Rationale, Rule, Rulebook

PITCH = "prosody.f0_mean_st"
LOUDNESS = "egemaps.loudness_sma3_amean"
RATE = "prosody.speech_rate"
NOISE = ("prosody.hnr_db", "prosody.jitter_local", "prosody.pause_ratio", "prosody.f0_range_st")
# Class means of the informative z-scores: calm, angry, panic.
MEANS = {PITCH: (-0.9, 0.2, 1.5), LOUDNESS: (-0.9, 1.3, 0.4), RATE: (-0.6, 0.6, 0.7)}
CONFIDENT = 0.6
SPEAKERS = 8


def _probabilities(label: int, rng: np.random.Generator) -> np.ndarray:
    """Confident and right, except: half the panic clips look angry, some angry/calm clips are unsure."""
    draw = rng.random()
    if label == 2 and draw < 0.5:
        p = np.array([0.15, 0.5, 0.35])
    elif label == 1 and draw < 0.25:
        p = np.array([0.12, 0.5, 0.38])
    elif label == 0 and draw < 0.2:
        p = np.array([0.5, 0.3, 0.2])
    else:
        p = np.full(3, 0.1)
        p[label] = 0.8
    p = p + rng.uniform(0, 0.04, size=3)
    return p / p.sum()


def make_frame(n: int = 400, seed: int = 0, split: str = "dev") -> tuple[pd.DataFrame, np.ndarray, list[ClipEvidence]]:
    """Rows (clip_id, label, speaker, split), acoustic probabilities and evidence of n generated clips."""
    rng = np.random.default_rng(seed)
    labels = [CLASSES[i % 3] for i in range(n)]
    rows, probabilities, evidence = [], [], []
    for i, label in enumerate(labels):
        k = CLASSES.index(label)
        z = {feature: float(rng.normal(means[k], 0.6)) for feature, means in MEANS.items()}
        z |= {feature: float(rng.normal(0.0, 1.0)) for feature in NOISE}
        clip_id = f"{split}/spk{i % SPEAKERS}/clip{i:04d}.wav"
        rows.append({"clip_id": clip_id, "label": label, "speaker": f"spk{i % SPEAKERS}", "split": split})
        probabilities.append(_probabilities(k, rng))
        values = {feature: 100.0 + value for feature, value in z.items()}
        evidence.append(ClipEvidence(clip_id=clip_id, values=values, z=z))
    return pd.DataFrame(rows), np.array(probabilities), evidence


def routes_of(probabilities: np.ndarray) -> list[Route]:
    return [Route.CONFIDENT if p.max() >= CONFIDENT else Route.DELEGATED for p in probabilities]


def make_rule(rule_id: str, supports: str, weight: float, *conditions: tuple[str, str, float]) -> Rule:
    return Rule(
        id=rule_id,
        when=[Condition(feature=f, op=op, value=v) for f, op, v in conditions],  # type: ignore[arg-type]
        supports=supports,  # type: ignore[arg-type]
        weight=weight,
        rationale=Rationale(en=f"{rule_id} (test rule)", vi=f"{rule_id} (luật thử)"),
        provenance="guideline",
    )


@pytest.fixture
def rulebook() -> Rulebook:
    """No panic rule on pitch; a low-precision angry rule on speaking rate."""
    return Rulebook(
        name="planted",
        version=1,
        rules=[
            make_rule("angry-loud", "angry", 0.8, (LOUDNESS, ">", 1.0)),
            make_rule("calm-low-arousal", "calm", 1.0, (PITCH, "<", 0.0), (LOUDNESS, "<", 0.0)),
            make_rule("angry-fast", "angry", 0.6, (RATE, ">", 0.3)),
            make_rule("panic-jittery", "panic", 0.8, ("prosody.jitter_local", ">", 1.5)),
        ],
    )


@pytest.fixture
def make_dev() -> Callable[..., DevSet]:
    def _make(n: int = 400, seed: int = 0) -> DevSet:
        frame, probabilities, evidence = make_frame(n, seed)
        return DevSet.from_frame(frame, probabilities, evidence, routes_of(probabilities))

    return _make


@pytest.fixture
def dev(make_dev: Callable[..., DevSet]) -> DevSet:
    return make_dev()
