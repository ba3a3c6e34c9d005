"""Error analysis of a rulebook on the dev set: where the pipeline goes wrong, and what those clips share.

:func:`analyse_errors` reports

* confusion pairs (true → predicted) ranked by count, and for each the evidence
  patterns over-represented among its errors, against the correctly decided clips
  of the same true class and against clips truly of the predicted class. The errors
  and the predicted-class clips are those the rulebook decides (delegated clips by
  default), because only there can a rule edit change the answer;
* every enabled rule's firings (:func:`vietser.rules.engine.evaluate_rules`): how
  often it fires on dev clips, its precision (share of firings whose true label is
  the class it supports) and how often it fires on errors vs correct decisions;
* routing mistakes: confident but wrong, and delegated clips the acoustic model
  had right but the rules got wrong (or the other way round);
* clips the annotators disagreed on, when votes are given.
"""

from __future__ import annotations

import itertools

import numpy as np
from pydantic import BaseModel, ConfigDict

from vietser.evaluate.sections import ReportSection
from vietser.labels import CLASSES
from vietser.refine.devset import DevSet
from vietser.refine.markdown import sections_markdown
from vietser.refine.patterns import EvidencePattern, find_patterns
from vietser.refine.scoring import Scope, pipeline_labels, rules_decide, summarise
from vietser.rules.agreement import majority_labels
from vietser.rules.engine import evaluate_rules
from vietser.rules.rulebook import Rulebook

MAX_PAIRS = 4
MAX_PATTERNS = 3
MAX_CLIP_IDS = 10


class ConfusionErrors(BaseModel):
    """One confusion pair and what its errors share."""

    model_config = ConfigDict(extra="forbid")

    true_label: str
    predicted: str
    count: int
    decided_by_rules: int
    clip_ids: list[str]
    patterns: list[EvidencePattern]


class RuleStats(BaseModel):
    """How one rule behaves on the dev set; ``precision`` is None when it never fires."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str
    supports: str
    description: str
    fired: int
    precision: float | None
    fired_on_errors: int
    fired_on_correct: int


class RoutingMistakes(BaseModel):
    """Confident errors, and delegated clips where the reasoner harmed or rescued the acoustic label."""

    model_config = ConfigDict(extra="forbid")

    confident: int
    confident_wrong: int
    delegated: int
    delegated_harmed: int
    delegated_rescued: int
    confident_wrong_ids: list[str]
    delegated_harmed_ids: list[str]


class Disagreement(BaseModel):
    """Clips with at least two votes that were split, and how the pipeline fares on them."""

    model_config = ConfigDict(extra="forbid")

    rated: int
    split: int
    error_rate_split: float | None
    error_rate_unanimous: float | None
    split_error_ids: list[str]


class ErrorAnalysis(BaseModel):
    """Everything :func:`analyse_errors` found; JSON-serialisable."""

    model_config = ConfigDict(extra="forbid")

    rulebook: str
    rulebook_version: int
    scope: Scope
    n_clips: int
    macro_f1: float
    accuracy: float
    confusions: list[ConfusionErrors]
    rules: list[RuleStats]
    routing: RoutingMistakes
    disagreement: Disagreement | None = None

    def to_sections(self) -> list[ReportSection]:
        """The analysis as report sections (confusions, patterns, rules, routing, disagreement)."""
        sections = [_confusion_section(self), _pattern_section(self), _rule_section(self)]
        sections.append(_routing_section(self.routing))
        if self.disagreement is not None:
            sections.append(_disagreement_section(self.disagreement))
        return sections

    def to_markdown(self) -> str:
        """The analysis as Markdown (what the LLM proposer reads)."""
        heading = (
            f"# Error analysis of rulebook {self.rulebook!r} v{self.rulebook_version} on "
            f"{self.n_clips} dev clips\n\nmacro-F1 {self.macro_f1:.3f}, accuracy {self.accuracy:.3f}.\n"
        )
        return heading + "\n" + sections_markdown(self.to_sections())


def _ids(dev: DevSet, mask: np.ndarray) -> list[str]:
    return [dev.clip_ids[i] for i in np.flatnonzero(mask)[:MAX_CLIP_IDS]]


def _confusions(dev: DevSet, predicted: np.ndarray, decided: np.ndarray) -> list[ConfusionErrors]:
    features = dev.z_features
    z = dev.z_matrix(features)
    pairs = []
    for t, p in itertools.permutations(range(len(CLASSES)), 2):
        errors = (dev.truth == t) & (predicted == p)
        if errors.any():
            pairs.append((int(errors.sum()), t, p, errors))
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    confusions = []
    for rank, (count, t, p, errors) in enumerate(pairs):
        patterns: list[EvidencePattern] = []
        if rank < MAX_PAIRS:
            target = z[errors & decided]
            correct = z[(dev.truth == t) & (predicted == t)]
            other = z[(dev.truth == p) & decided]
            patterns = find_patterns(target, correct, features, "correct", MAX_PATTERNS)
            patterns += find_patterns(target, other, features, "predicted_class", MAX_PATTERNS)
        confusions.append(
            ConfusionErrors(
                true_label=CLASSES[t],
                predicted=CLASSES[p],
                count=count,
                decided_by_rules=int((errors & decided).sum()),
                clip_ids=_ids(dev, errors),
                patterns=patterns,
            )
        )
    return confusions


def _rule_stats(
    dev: DevSet, rulebook: Rulebook, predicted: np.ndarray, decided: np.ndarray
) -> list[RuleStats]:
    fired: dict[str, list[int]] = {rule.id: [] for rule in rulebook.rules if rule.enabled}
    for i, evidence in enumerate(dev.evidence):
        for firing in evaluate_rules(rulebook, evidence):
            fired[firing.rule_id].append(i)
    correct = predicted == dev.truth
    stats = []
    for rule in rulebook.rules:
        if not rule.enabled:
            continue
        rows = np.array(fired[rule.id], dtype=np.int64)
        hits = int((dev.truth[rows] == CLASSES.index(rule.supports)).sum())
        stats.append(
            RuleStats(
                rule_id=rule.id,
                supports=rule.supports,
                description=rule.describe(),
                fired=len(rows),
                precision=hits / len(rows) if len(rows) else None,
                fired_on_errors=int((decided[rows] & ~correct[rows]).sum()),
                fired_on_correct=int((decided[rows] & correct[rows]).sum()),
            )
        )
    return stats


def _routing(dev: DevSet, predicted: np.ndarray) -> RoutingMistakes:
    confident, delegated = ~dev.delegated, dev.delegated
    acoustic_right = dev.acoustic == dev.truth
    right = predicted == dev.truth
    confident_wrong = confident & ~acoustic_right
    harmed, rescued = delegated & acoustic_right & ~right, delegated & ~acoustic_right & right
    return RoutingMistakes(
        confident=int(confident.sum()),
        confident_wrong=int(confident_wrong.sum()),
        delegated=int(delegated.sum()),
        delegated_harmed=int(harmed.sum()),
        delegated_rescued=int(rescued.sum()),
        confident_wrong_ids=_ids(dev, confident_wrong),
        delegated_harmed_ids=_ids(dev, harmed),
    )


def _error_rate(wrong: np.ndarray, mask: np.ndarray) -> float | None:
    return float(wrong[mask].mean()) if mask.any() else None


def _disagreement(dev: DevSet, predicted: np.ndarray) -> Disagreement | None:
    if dev.votes is None:
        return None
    frame = dev.votes.assign(label=list(dev.labels))
    majority = majority_labels(frame, annotator_cols=list(dev.votes.columns))
    rated = (majority.votes >= 2).to_numpy()
    agreement = majority.agreement.to_numpy()
    split, unanimous = rated & (agreement < 1), rated & (agreement >= 1)
    wrong = predicted != dev.truth
    return Disagreement(
        rated=int(rated.sum()),
        split=int(split.sum()),
        error_rate_split=_error_rate(wrong, split),
        error_rate_unanimous=_error_rate(wrong, unanimous),
        split_error_ids=_ids(dev, split & wrong),
    )


def analyse_errors(
    dev: DevSet, rulebook: Rulebook, *, prior_weight: float = 1.0, scope: Scope = "delegated"
) -> ErrorAnalysis:
    """Where the pipeline with ``rulebook`` errs on the dev set and what those clips share."""
    predicted = pipeline_labels(dev, rulebook, prior_weight=prior_weight, scope=scope)
    decided = rules_decide(dev, scope)
    summary = summarise(dev, predicted, scope)
    return ErrorAnalysis(
        rulebook=rulebook.name,
        rulebook_version=rulebook.version,
        scope=scope,
        n_clips=len(dev),
        macro_f1=summary.macro_f1,
        accuracy=summary.accuracy,
        confusions=_confusions(dev, predicted, decided),
        rules=_rule_stats(dev, rulebook, predicted, decided),
        routing=_routing(dev, predicted),
        disagreement=_disagreement(dev, predicted),
    )


def _confusion_section(analysis: ErrorAnalysis) -> ReportSection:
    rows = [
        [f"{c.true_label} → {c.predicted}", c.count, c.decided_by_rules, ", ".join(c.clip_ids[:3])]
        for c in analysis.confusions
    ]
    return ReportSection(
        title="Dev errors by confusion",
        text=f"Errors of the pipeline on {analysis.n_clips} dev clips, most frequent first.",
        columns=["true → predicted", "errors", "decided by rules", "e.g."],
        rows=rows,
    )


def _pattern_section(analysis: ErrorAnalysis) -> ReportSection:
    reference_name = {"correct": "correct {t} ({n})", "predicted_class": "true {p} ({n})"}
    rows = [
        [
            f"{c.true_label} → {c.predicted}",
            p.text,
            reference_name[p.reference].format(t=c.true_label, p=c.predicted, n=p.reference_n),
            p.support,
            f"{p.share_errors:.0%}",
            f"{p.share_reference:.0%}",
            p.lift,
        ]
        for c in analysis.confusions
        for p in c.patterns
    ]
    return ReportSection(
        title="Evidence patterns of the errors",
        text=(
            "Conditions that hold far more often on the errors of a confusion pair (among the "
            "clips the rulebook decides) than on a reference group: the correct clips of the true "
            "class, or the decided clips of the predicted class (clip counts in brackets). Lift "
            "is the ratio of the smoothed shares."
        ),
        columns=["confusion", "pattern", "reference", "errors with it", "share of errors",
                 "share of reference", "lift"],
        rows=rows,
    )


def _rule_section(analysis: ErrorAnalysis) -> ReportSection:
    rows = [
        [r.rule_id, r.supports, r.fired, r.precision, r.fired_on_errors, r.fired_on_correct]
        for r in analysis.rules
    ]
    return ReportSection(
        title="Rules on the dev set",
        text=(
            "Precision: share of a rule's firings (on all dev clips) whose true label is the class it "
            "supports. Errors / correct: its firings on clips the rulebook decided wrongly / rightly."
        ),
        columns=["rule", "supports", "fired", "precision", "on errors", "on correct"],
        rows=rows,
    )


def _routing_section(routing: RoutingMistakes) -> ReportSection:
    rows = [
        ["confident, acoustic label wrong", routing.confident_wrong, routing.confident,
         ", ".join(routing.confident_wrong_ids[:3])],
        ["delegated, acoustic right but reasoner wrong", routing.delegated_harmed,
         routing.delegated, ", ".join(routing.delegated_harmed_ids[:3])],
        ["delegated, reasoner rescued a wrong acoustic label", routing.delegated_rescued,
         routing.delegated, ""],
    ]
    return ReportSection(
        title="Routing mistakes", columns=["case", "clips", "of", "e.g."], rows=rows
    )


def _disagreement_section(disagreement: Disagreement) -> ReportSection:
    rows = [
        ["clips with two or more votes", disagreement.rated],
        ["of which votes were split", disagreement.split],
        ["error rate on split clips", disagreement.error_rate_split],
        ["error rate on unanimous clips", disagreement.error_rate_unanimous],
        ["split and wrong, e.g.", ", ".join(disagreement.split_error_ids[:5])],
    ]
    return ReportSection(title="Annotator disagreement", columns=["", "value"], rows=rows)

