from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.refine.conftest import PITCH
from vietser.refine.analysis import ErrorAnalysis, analyse_errors
from vietser.refine.devset import DevSet
from vietser.refine.scoring import score
from vietser.rules.rulebook import Rulebook


def test_most_frequent_confusion_comes_first(dev: DevSet, rulebook: Rulebook) -> None:
    analysis = analyse_errors(dev, rulebook)
    top = analysis.confusions[0]
    assert (top.true_label, top.predicted) == ("panic", "angry")
    assert [c.count for c in analysis.confusions] == sorted((c.count for c in analysis.confusions), reverse=True)


def test_planted_pitch_pattern_is_over_represented_among_panic_to_angry_errors(
    dev: DevSet, rulebook: Rulebook
) -> None:
    top = analyse_errors(dev, rulebook).confusions[0]
    versus_angry = [p for p in top.patterns if p.reference == "predicted_class"]
    best = versus_angry[0]
    assert best.conditions[0].feature == PITCH and best.conditions[0].op == ">"
    assert best.share_errors > 0.6 and best.share_reference < 0.3 and best.lift > 2
    assert "mean pitch" in best.text


def test_rule_precision_is_the_share_of_firings_on_its_class(dev: DevSet, rulebook: Rulebook) -> None:
    stats = {r.rule_id: r for r in analyse_errors(dev, rulebook).rules}
    fast = stats["angry-fast"]
    rate = dev.column("prosody.speech_rate")
    fired = rate > 0.3
    assert fast.fired == int(fired.sum())
    assert fast.precision == float(np.mean(np.array(dev.labels)[fired] == "angry"))
    assert fast.fired_on_errors > fast.fired_on_correct


def test_routing_mistakes_count_confident_errors_and_delegated_harm(dev: DevSet, rulebook: Rulebook) -> None:
    routing = analyse_errors(dev, rulebook).routing
    predicted = np.array(score(dev, rulebook).predictions)
    labels, acoustic = np.array(dev.labels), np.array(["calm", "angry", "panic"])[dev.acoustic]
    harmed = dev.delegated & (acoustic == labels) & (predicted != labels)
    assert routing.confident + routing.delegated == len(dev)
    assert routing.delegated_harmed == int(harmed.sum())
    assert routing.confident_wrong == int((~dev.delegated & (acoustic != labels)).sum())


def test_annotator_disagreement_is_reported_when_votes_are_given(dev: DevSet, rulebook: Rulebook) -> None:
    # Annotator b says calm on the first 100 clips; elsewhere both agree with the label.
    votes = pd.DataFrame({"annotator_a": dev.labels, "annotator_b": ("calm",) * 100 + dev.labels[100:]})
    voted = DevSet(dev.clip_ids, dev.evidence, dev.probabilities, dev.routes, dev.labels, votes=votes)
    disagreement = analyse_errors(voted, rulebook).disagreement
    assert disagreement is not None
    split = sum(label != "calm" for label in dev.labels[:100])
    assert (disagreement.rated, disagreement.split) == (len(dev), split)


def test_no_disagreement_section_without_votes(dev: DevSet, rulebook: Rulebook) -> None:
    assert analyse_errors(dev, rulebook).disagreement is None


def test_analysis_round_trips_through_json_and_renders_markdown(dev: DevSet, rulebook: Rulebook) -> None:
    analysis = analyse_errors(dev, rulebook)
    again = ErrorAnalysis.model_validate(json.loads(analysis.model_dump_json()))
    assert again == analysis
    markdown = analysis.to_markdown()
    assert "| panic → angry |" in markdown and "## Rules on the dev set" in markdown
    assert [s.title for s in analysis.to_sections()][0] == "Dev errors by confusion"
