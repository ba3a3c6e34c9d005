"""Rule induction: candidate rules learned from annotated clips, plus the cues that
separate clips annotators disagreed on.

For each class a shallow one-vs-rest decision tree is fitted on the features
(speaker-relative ``z.`` columns by default), each clip weighted by the fraction of
annotators agreeing with its majority label. Every leaf path that predicts the class
better than its base rate becomes a candidate rule; the leaves of one tree are
disjoint, so a clip fires at most one induced rule per class. Candidates that fire on
at least ``min_samples_leaf`` clips with at least ``min_precision`` become
``provenance: induced`` rules whose weight is the log-odds lift of the class when the
rule fires (capped at ``MAX_INDUCED_WEIGHT``). The result is an ordinary rulebook a
person can read, edit and save.

When the clips have transcripts, each class may also get one phrase rule: the words and
word pairs that mark the class on at least ``min_samples_leaf`` clips with at least
``min_precision`` (matched as the engine matches them, :mod:`vietser.rules.phrases`),
best first, each kept only if it fires on clips the ones before it miss, at most
``MAX_PHRASES``; the rule's weight is the list's lift, as for a leaf.

Example::

    result = induce_rules(features_frame[features_frame.split == "train"])
    save_rulebook(result.rulebook, "induced.yaml")
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from vietser.errors import ConfigError, ManifestError
from vietser.features.catalog import EVIDENCE_SETS, Z_PREFIX
from vietser.labels import CLASSES, VIETNAMESE_NAMES
from vietser.rules.agreement import (
    DisagreementCue,
    disagreement_cues,
    majority_labels,
    require_columns,
)
from vietser.rules.core import FeatureColumns, Features, conditions_hold
from vietser.rules.phrases import fold, fold_all, words
from vietser.rules.rulebook import TRANSCRIPT, Condition, Rationale, Rule, Rulebook

MAX_INDUCED_WEIGHT = 3.0
MAX_PHRASES = 4


@dataclass(frozen=True)
class FeatureSpec:
    """A frame column used for induction and how a rule condition refers to it."""

    column: str
    feature: str
    scale: str


@dataclass(frozen=True)
class CandidateRule:
    """One tree leaf as a rule, with its statistics on the training clips."""

    supports: str
    when: tuple[Condition, ...]
    support: int
    precision: float
    base_rate: float
    weight: float
    kept: bool
    rule_id: str | None = None


@dataclass(frozen=True)
class InductionResult:
    """Induced rulebook, every candidate considered, disagreement cues and a Markdown report."""

    rulebook: Rulebook
    disagreement_cues: list[DisagreementCue]
    report: str
    candidates: list[CandidateRule]


def feature_specs(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[FeatureSpec]:
    """Columns to learn from: by default every ``z.`` column of the interpretable sets
    (:data:`~vietser.features.catalog.EVIDENCE_SETS`), the ones a rule can be written in.
    A named raw column uses its ``z.`` twin when the frame has one (a speaker-relative
    rule), else its raw value."""
    if columns is None:
        evidence = tuple(f"{Z_PREFIX}{name}." for name in EVIDENCE_SETS)
        columns = [c for c in frame.columns if str(c).startswith(evidence)]
    specs = []
    for column in columns:
        if column.startswith(Z_PREFIX):
            specs.append(FeatureSpec(column, column[len(Z_PREFIX) :], "z"))
        elif Z_PREFIX + column in frame.columns:
            specs.append(FeatureSpec(Z_PREFIX + column, column, "z"))
        else:
            specs.append(FeatureSpec(column, column, "raw"))
    if not specs:
        raise ManifestError(
            "frame has no z. feature columns; extract features first or pass columns="
        )
    require_columns(frame, [s.column for s in specs])
    return specs


@dataclass(frozen=True)
class _Task:
    """One one-vs-rest problem: the clips' features, whether each clip is the class, clip weights."""

    frame: Features
    target: np.ndarray
    weights: np.ndarray

    @property
    def base_rate(self) -> float:
        return float(self.weights[self.target].sum() / self.weights.sum())

    def stats(self, when: Sequence[Condition]) -> tuple[int, float, float]:
        """(clips fired, weighted precision, smoothed log-odds lift over the base rate)."""
        fires = conditions_hold(self.frame, when)
        hit, fired = (
            float(self.weights[fires & self.target].sum()),
            float(self.weights[fires].sum()),
        )
        p, base = (hit + 0.5) / (fired + 1.0), min(max(self.base_rate, 1e-6), 1 - 1e-6)
        lift = math.log(p / (1 - p)) - math.log(base / (1 - base))
        return int(fires.sum()), hit / fired if fired > 0 else 0.0, lift


def _leaf_paths(tree: DecisionTreeClassifier) -> list[list[tuple[int, bool, float]]]:
    """For every leaf, left to right: [(feature index, went right, threshold), ...]."""
    structure, paths = tree.tree_, []
    stack: list[tuple[int, list[tuple[int, bool, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:
            paths.append(path)
            continue
        feature, threshold = int(structure.feature[node]), float(structure.threshold[node])
        stack.append((right, [*path, (feature, True, threshold)]))
        stack.append((left, [*path, (feature, False, threshold)]))
    return paths


def _rounded(threshold: float, scale: str) -> float:
    return round(threshold, 2) if scale == "z" else float(f"{threshold:.3g}")


def _conditions(
    path: list[tuple[int, bool, float]], specs: Sequence[FeatureSpec]
) -> tuple[Condition, ...]:
    """A tree path as conditions, several splits on one feature merged into one bound pair."""
    bounds: dict[int, tuple[float, float]] = {}
    for feature, went_right, threshold in path:
        low, high = bounds.get(feature, (-math.inf, math.inf))
        bounds[feature] = (max(low, threshold), high) if went_right else (low, min(high, threshold))
    conditions = []
    for feature, (low, high) in bounds.items():
        spec = specs[feature]
        low, high = _rounded(low, spec.scale), _rounded(high, spec.scale)
        if math.isinf(high):
            operands = {"op": ">", "value": low}
        elif math.isinf(low):
            operands = {"op": "<=", "value": high}
        else:
            operands = {"op": "between", "low": low, "high": high}
        conditions.append(Condition(feature=spec.feature, scale=spec.scale, **operands))
    return tuple(conditions)


def _candidates(
    cls: str,
    task: _Task,
    x: np.ndarray,
    specs: Sequence[FeatureSpec],
    max_depth: int,
    min_leaf: int,
    min_precision: float,
) -> list[CandidateRule]:
    if not task.target.any():
        return []
    # The small impurity floor stops splits of already-pure nodes caused by float noise.
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=min_leaf, min_impurity_decrease=1e-7, random_state=0
    ).fit(x, task.target, sample_weight=task.weights)
    candidates = []
    for path in _leaf_paths(tree):
        when = _conditions(path, specs)
        support, precision, lift = task.stats(when)
        if not when or precision <= task.base_rate:
            continue
        weight = min(round(lift, 2), MAX_INDUCED_WEIGHT)
        kept = support >= min_leaf and precision >= min_precision and weight > 0
        candidates.append(
            CandidateRule(cls, when, support, precision, task.base_rate, weight, kept)
        )
    return candidates


def _phrase_counts(transcripts: pd.Series) -> dict[str, Counter[str]]:
    """Every word and word pair of the transcripts, folded, with how it was written each time."""
    spellings: dict[str, Counter[str]] = {}
    for text in transcripts:
        tokens = words(text) if isinstance(text, str) else []
        grams = {" ".join(tokens[i : i + n]) for n in (1, 2) for i in range(len(tokens) - n + 1)}
        for gram in grams:
            spellings.setdefault(fold(gram), Counter())[gram] += 1
    return spellings


def _phrase_candidate(
    cls: str, task: _Task, spellings: dict[str, Counter[str]], min_leaf: int, min_precision: float
) -> list[CandidateRule]:
    """One rule of the phrases that mark ``cls`` (method: module docstring), or none."""
    if not task.target.any():
        return []
    scored = []
    for folded, spelled in spellings.items():
        if sum(spelled.values()) < min_leaf:
            continue
        phrase = spelled.most_common(1)[0][0]
        when = (Condition(feature=TRANSCRIPT, op="mentions", phrases=[phrase]),)
        support, precision, _ = task.stats(when)
        if support >= min_leaf and precision >= min_precision:
            scored.append((precision, support, phrase, conditions_hold(task.frame, when)))
    chosen: list[str] = []
    covered = np.zeros(len(task.target), dtype=bool)
    for _, _, phrase, fires in sorted(scored, key=lambda s: (-s[0], -s[1], -len(s[2].split()), s[2])):
        if len(chosen) < MAX_PHRASES and (fires & ~covered).any():
            chosen.append(phrase)
            covered |= fires
    if not chosen:
        return []
    when = (Condition(feature=TRANSCRIPT, op="mentions", phrases=chosen),)
    support, precision, lift = task.stats(when)
    weight = min(round(lift, 2), MAX_INDUCED_WEIGHT)
    kept = weight > 0 and precision >= min_precision
    return [CandidateRule(cls, when, support, precision, task.base_rate, weight, kept)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _rule_id(candidate: CandidateRule, taken: set[str]) -> str:
    direction = {">": "high", "<=": "low", "between": "mid", "mentions": "words"}
    parts = [f"{_slug(c.feature.split('.', 1)[-1])}-{direction[c.op]}" for c in candidate.when]
    base = f"induced-{candidate.supports}-" + "-".join(parts)
    rule_id, suffix = base, 2
    while rule_id in taken:
        rule_id, suffix = f"{base}-{suffix}", suffix + 1
    taken.add(rule_id)
    return rule_id


def _to_rule(candidate: CandidateRule, n_clips: int) -> Rule:
    en_when = " and ".join(c.describe("en") for c in candidate.when)
    vi_when = " và ".join(c.describe("vi") for c in candidate.when)
    precision, base = f"{candidate.precision:.0%}", f"{candidate.base_rate:.0%}"
    rationale = Rationale(
        en=f"Learned from {n_clips} annotated clips: when {en_when}, {precision} of them were "
        f"{candidate.supports} (vs {base} overall).",
        vi=f"Học từ {n_clips} đoạn ghi âm đã gán nhãn: khi {vi_when}, {precision} số đoạn là "
        f"{VIETNAMESE_NAMES[candidate.supports]} (so với {base} nói chung).",
    )
    return Rule(
        id=candidate.rule_id or "",
        when=list(candidate.when),
        supports=candidate.supports,  # type: ignore[arg-type]
        weight=candidate.weight,
        rationale=rationale,
        provenance="induced",
    )


def _report(
    source: str,
    n_clips: int,
    settings: str,
    candidates: Sequence[CandidateRule],
    cues: Sequence[DisagreementCue],
) -> str:
    lines = [
        "# Rule induction",
        "",
        f"Labels: {source}; {n_clips} clips; {settings}.",
        "",
        "| rule | class | conditions | clips fired | precision | base rate | weight | kept |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in candidates:
        conditions = " and ".join(x.describe() for x in c.when)
        lines.append(
            f"| {c.rule_id or '-'} | {c.supports} | {conditions} | {c.support} | "
            f"{c.precision:.2f} | {c.base_rate:.2f} | {c.weight:g} | {'yes' if c.kept else 'no'} |"
        )
    lines += ["", "## Where annotators disagree", ""]
    if not cues:
        lines.append(
            "No cues: needs two or more clips with split votes and two or more unanimous clips."
        )
    else:
        lines += [
            "| feature | effect size (d) | mean, split votes | mean, unanimous |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {q.name} | {q.effect_size:+.2f} | {q.mean_disagreed:.2f} | {q.mean_agreed:.2f} |"
            for q in cues[:10]
        ]
    return "\n".join(lines) + "\n"


def _check_settings(max_depth: int, min_samples_leaf: int | None, min_precision: float) -> None:
    if max_depth < 1:
        raise ConfigError(f"max_depth must be at least 1, got {max_depth}")
    if min_samples_leaf is not None and min_samples_leaf < 1:
        raise ConfigError(f"min_samples_leaf must be at least 1, got {min_samples_leaf}")
    if not 0 < min_precision <= 1:
        raise ConfigError(f"min_precision must be in (0, 1], got {min_precision}")


def induce_rules(
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    label_col: str = "label",
    annotator_cols: Sequence[str] | None = None,
    max_depth: int = 2,
    min_samples_leaf: int | None = None,
    min_precision: float = 0.6,
) -> InductionResult:
    """Learn candidate rules per class from annotated clips (method: module docstring).

    Args:
        frame: features table, one row per clip, with ``label_col`` and/or annotator_* columns.
        columns: features to learn from; default every ``z.`` column.
        min_samples_leaf: fewest clips a rule must fire on; default max(5, 5% of labelled clips).
        min_precision: smallest agreement-weighted share of fired clips that carry the class.
    """
    _check_settings(max_depth, min_samples_leaf, min_precision)
    specs = feature_specs(frame, columns)
    majority = majority_labels(frame, label_col, annotator_cols)
    labelled = majority.label.notna().to_numpy()
    if not labelled.any():
        raise ManifestError(f"no labelled clips ({majority.source}); label some clips first")
    data = frame.loc[labelled]
    labels = majority.label[labelled].to_numpy()
    weights = majority.agreement[labelled].to_numpy(dtype=float)
    x = data[[s.column for s in specs]].astype(float)
    x = x.fillna(x.median()).fillna(0.0).to_numpy()
    min_leaf = (
        min_samples_leaf if min_samples_leaf is not None else max(5, math.ceil(0.05 * len(data)))
    )
    candidates = [
        candidate
        for cls in CLASSES
        for candidate in _candidates(
            cls, _Task(data, labels == cls, weights), x, specs, max_depth, min_leaf, min_precision
        )
    ]
    if TRANSCRIPT in data.columns:
        texts = FeatureColumns(len(data), {}, fold_all(data[TRANSCRIPT]))
        spellings = _phrase_counts(data[TRANSCRIPT])
        candidates += [
            candidate
            for cls in CLASSES
            for candidate in _phrase_candidate(
                cls, _Task(texts, labels == cls, weights), spellings, min_leaf, min_precision
            )
        ]
    candidates.sort(key=lambda c: (not c.kept, CLASSES.index(c.supports), -c.precision, -c.support))
    taken: set[str] = set()
    candidates = [replace(c, rule_id=_rule_id(c, taken)) if c.kept else c for c in candidates]
    settings = (
        f"max_depth={max_depth}, min_samples_leaf={min_leaf}, min_precision={min_precision:g}"
    )
    rulebook = Rulebook(
        name="induced",
        version=1,
        description=f"Induced from {len(data)} clips ({majority.source}); {settings}.",
        rules=[_to_rule(c, len(data)) for c in candidates if c.kept],
    )
    cues = disagreement_cues(data, [s.column for s in specs], majority)
    return InductionResult(
        rulebook, cues, _report(majority.source, len(data), settings, candidates, cues), candidates
    )
