"""Rule proposals drafted from one clip's evidence, in the rulebook's rule shape."""

from __future__ import annotations

import math
import re
from typing import Literal

from vietser.decision import Cue, Decision
from vietser.labels import VIETNAMESE_NAMES, Emotion
from vietser.rules.rulebook import Condition, Rationale, Rule

MAX_CONDITIONS = 3
# Thresholds are rounded towards zero to this step, so the rule covers the clip
# it came from and reads as a general statement ("z >= 1.5"), not a fit to one value.
THRESHOLD_STEP = 0.5


PROPOSED_WEIGHT = 1.0


def threshold_from_z(z: float) -> tuple[Literal[">=", "<="], float]:
    """Operator and threshold that the clip's own z satisfies, rounded towards zero."""
    rounded = math.floor(abs(z) / THRESHOLD_STEP) * THRESHOLD_STEP
    return (">=", rounded) if z >= 0 else ("<=", -rounded)


def prefill_conditions(decision: Decision, label: str) -> list[Condition]:
    """Conditions from the clip's strongest cues for ``label`` (its strongest cues if none point there)."""
    cues = sorted(decision.evidence, key=lambda cue: abs(cue.z), reverse=True)
    chosen = [cue for cue in cues if cue.supports == label] or cues
    return [_condition(cue) for cue in chosen[:MAX_CONDITIONS]]


def _condition(cue: Cue) -> Condition:
    op, value = threshold_from_z(cue.z)
    return Condition(feature=cue.feature, op=op, value=value, scale="z")


def default_rationale(decision: Decision, label: str, reviewer: str) -> tuple[str, str]:
    """English and Vietnamese rationale quoting the clip's cues for ``label``."""
    cues = [cue for cue in decision.evidence if cue.supports == label] or decision.evidence
    heard_en = "; ".join(cue.text_en for cue in cues[:MAX_CONDITIONS])
    heard_vi = "; ".join(cue.text_vi for cue in cues[:MAX_CONDITIONS])
    english = f"Reviewer {reviewer} heard {label} in {decision.clip_id}" + (f": {heard_en}" if heard_en else ".")
    vietnamese = f"Người nghe {reviewer} nhận định {VIETNAMESE_NAMES[label]} ở {decision.clip_id}" + (
        f": {heard_vi}" if heard_vi else "."
    )
    return english, vietnamese


def build_rule(
    decision: Decision,
    label: Emotion,
    reviewer: str,
    conditions: list[Condition],
    rationale_en: str,
    rationale_vi: str,
) -> Rule:
    """A rulebook rule proposed by ``reviewer`` from ``decision``'s clip (provenance 'person')."""
    stem = decision.clip_id.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return Rule(
        id=_slug(f"review-{reviewer}-{stem}-{label.value}"),
        when=conditions,
        supports=label.value,
        weight=PROPOSED_WEIGHT,
        rationale=Rationale(en=rationale_en, vi=rationale_vi),
        provenance="person",
    )


def _slug(text: str) -> str:
    """Lowercase letters, digits and single hyphens, as rule ids must be."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
