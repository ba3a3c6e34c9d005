"""The report's domain section: how many clips the model had not heard the like of, the farthest first."""

from __future__ import annotations

from vietser.decision import Decision, Route
from vietser.evaluate.sections import domain_section


def _decision(clip: str, ood: float | None) -> Decision:
    return Decision(
        clip_id=clip,
        true_label="calm",
        label="calm",
        probabilities={"calm": 0.5, "angry": 0.25, "panic": 0.25},
        acoustic_label="calm",
        confidence=0.5,
        route=Route.DELEGATED if ood and ood > 1 else Route.CONFIDENT,
        reasoner="acoustic",
        ood_score=ood,
        out_of_domain=bool(ood and ood > 1),
    )


def test_domain_section_counts_out_of_domain_clips_and_lists_the_farthest_first() -> None:
    decisions = [_decision("a", 0.4), _decision("b", 2.5), _decision("c", 1.2), _decision("d", None)]
    section = domain_section(decisions, most=1)
    assert section.title == "Domain"
    assert section.text.startswith("2 of 3 clips (66.7%)")
    assert section.rows == [["b", "2.50", "calm", "calm"]]
