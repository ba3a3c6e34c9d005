from __future__ import annotations

import numpy as np
import pandas as pd

from vietser.decision import ClipEvidence, Route
from vietser.pipeline import decide
from vietser.refine.devset import DevSet
from vietser.refine.scoring import score
from vietser.rules.engine import RuleEngine
from vietser.rules.rulebook import Condition, Rationale, Rule, Rulebook, default_rulebook


def _random_dev(n: int = 150, seed: int = 3) -> tuple[DevSet, pd.DataFrame]:
    """Clips with z-scores of the default rulebook's features, some missing, random probabilities."""
    rng = np.random.default_rng(seed)
    features = sorted({c.feature for rule in default_rulebook().rules for c in rule.when})
    evidence = []
    for i in range(n):
        z = {f: float(rng.normal(0, 1.2)) for f in features if rng.random() > 0.1}
        evidence.append(ClipEvidence(clip_id=f"c{i}", values={}, z=z))
    probabilities = rng.dirichlet(np.ones(3), size=n)
    routes = [Route.DELEGATED if rng.random() < 0.6 else Route.CONFIDENT for _ in range(n)]
    labels = rng.choice(["calm", "angry", "panic"], size=n)
    frame = pd.DataFrame({"clip_id": [e.clip_id for e in evidence], "label": labels, "split": "dev"})
    return DevSet.from_frame(frame, probabilities, evidence, routes), frame


def test_predictions_equal_the_pipeline_with_the_rule_engine() -> None:
    dev, frame = _random_dev()
    rulebook = default_rulebook()
    confidence = dev.probabilities.max(axis=1)
    decisions = decide(frame, dev.probabilities, dev.evidence, confidence, dev.routes, RuleEngine(rulebook, 0.7))
    assert score(dev, rulebook, prior_weight=0.7).predictions == tuple(d.label for d in decisions)


def test_rules_on_all_clips_equal_the_engine_on_every_clip() -> None:
    dev, frame = _random_dev(seed=4)
    rulebook = default_rulebook()
    confidence = dev.probabilities.max(axis=1)
    every_clip = [Route.DELEGATED] * len(dev)
    decisions = decide(frame, dev.probabilities, dev.evidence, confidence, every_clip, RuleEngine(rulebook))
    result = score(dev, rulebook, scope="all")
    assert result.predictions == tuple(d.label for d in decisions)
    assert result.delegation_rate == 1.0


def test_score_reports_macro_f1_and_the_delegation_rate(dev: DevSet, rulebook) -> None:
    result = score(dev, rulebook)
    assert 0.7 < result.macro_f1 < 0.9
    assert result.delegation_rate == float(dev.delegated.mean())


def _pitch_rule(rule_id: str, supports: str, threshold: float, priority: int) -> Rule:
    return Rule(
        id=rule_id,
        when=[Condition(feature="prosody.f0_mean_st", op=">", value=threshold)],
        supports=supports,  # type: ignore[arg-type]
        weight=1.0,
        priority=priority,
        rationale=Rationale(en="tie", vi="hòa"),
        provenance="guideline",
    )


def test_exact_ties_go_to_the_higher_priority_rule_as_in_the_pipeline() -> None:
    """Uniform priors and equal weights: clips past both thresholds tie angry and panic."""
    dev, frame = _random_dev(n=60, seed=5)
    uniform = np.full((len(dev), 3), 1 / 3)
    dev = DevSet(dev.clip_ids, dev.evidence, uniform, dev.routes, dev.labels)
    rulebook = Rulebook(
        name="tie",
        version=1,
        rules=[_pitch_rule("angry-pitch", "angry", 0.0, 0), _pitch_rule("panic-pitch", "panic", 1.0, 2)],
    )
    every_clip = [Route.DELEGATED] * len(dev)
    decisions = decide(frame, uniform, dev.evidence, uniform.max(axis=1), every_clip, RuleEngine(rulebook))
    predictions = score(dev, rulebook, scope="all").predictions
    pitch = [e.z.get("prosody.f0_mean_st", float("nan")) for e in dev.evidence]
    assert predictions == tuple(d.label for d in decisions)
    assert {p for p, z in zip(predictions, pitch) if z > 1.0} == {"panic"}
    assert {p for p, z in zip(predictions, pitch) if 0.0 < z <= 1.0} == {"angry"}
