"""Scratch: variants of the rule reasoner, leave-speakers-out folds as in benchmarks/pipeline.py.

Usage::

    PYTHONPATH=. python benchmarks/reasoning_experiments.py [--corpus ravdess3|demo] [--folds 6]

Per fold the acoustic model is trained on train (default RunConfig), out-of-fold
probabilities are computed on train (speaker-grouped), each variant fits its
rulebook / prior weight on train only, the routing threshold is chosen on dev with
the variant's reasoner correctness (the RunConfig routing policy), and only then is
test decided. The engine is applied vectorised (same scoring as RuleEngine).
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import RAVDESS, corpus_features, demo_features
from benchmarks.pipeline import fold_splits
from vietser.acoustic import train_acoustic
from vietser.config import load_config
from vietser.evaluate import compute_metrics, paired_bootstrap
from vietser.labels import CLASSES
from vietser.routing import choose_threshold
from vietser.rules.engine import PROBABILITY_FLOOR
from vietser.rules.fit import FitSettings, firing_matrix, fit_rulebook, oof_probabilities
from vietser.rules.rulebook import Rulebook, default_rulebook

CACHE = Path(tempfile.gettempdir()) / "vietser-reasoning-cache"
Variant = Callable[[pd.DataFrame, np.ndarray], tuple[Rulebook, float]]


def fold_data(corpus: str, frame: pd.DataFrame, k: int, split: pd.Series) -> dict:
    path = CACHE / f"{corpus}-fold{k}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    config = load_config().acoustic.model_copy(update={"measure_calibration": False})
    features = frame.assign(split=split.to_numpy()).reset_index(drop=True)
    model = train_acoustic(features, config)
    parts = {name: features[features["split"] == name].reset_index(drop=True) for name in ("train", "dev", "test")}
    data = {
        **parts,
        "p_dev": model.predict_proba(parts["dev"]),
        "p_test": model.predict_proba(parts["test"]),
        "p_oof": oof_probabilities(parts["train"], config, 5),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(data))
    return data


def engine_predict(rulebook: Rulebook, prior_weight: float, frame: pd.DataFrame, p: np.ndarray) -> np.ndarray:
    rules = [r for r in rulebook.rules if r.enabled]
    fired = firing_matrix(frame, rules).astype(float)
    bonus = np.zeros((len(frame), len(CLASSES)))
    for j, rule in enumerate(rules):
        bonus[:, CLASSES.index(rule.supports)] += rule.weight * fired[:, j]
    scores = prior_weight * np.log(np.maximum(p / p.sum(axis=1, keepdims=True), PROBABILITY_FLOOR)) + bonus
    return scores.argmax(axis=1)


def run_variant(data: dict, variant: Variant, score: str, policy) -> dict[str, np.ndarray]:
    rulebook, prior_weight = variant(data["train"], data["p_oof"])
    dev_y = np.array([CLASSES.index(x) for x in data["dev"]["label"]])
    dev_reason = engine_predict(rulebook, prior_weight, data["dev"], data["p_dev"])
    full_budget = score.endswith("-full")
    router = choose_threshold(
        data["p_dev"], data["dev"]["label"].to_numpy(), policy, score=score.removesuffix("-full"),
        reasoner_correct=None if full_budget else dev_reason == dev_y,
    )
    confident = router.is_confident(data["p_test"])
    acoustic = data["p_test"].argmax(axis=1)
    reason = engine_predict(rulebook, prior_weight, data["test"], data["p_test"])
    truth = np.array([CLASSES.index(x) for x in data["test"]["label"]])
    return {
        "truth": truth,
        "acoustic": acoustic,
        "reasoner": reason,
        "pipeline": np.where(confident, acoustic, reason),
        "delegated": ~confident,
        "oracle": np.where(confident | (acoustic == truth), acoustic, np.where(reason == truth, reason, acoustic)),
    }


def literature(_: pd.DataFrame, __: np.ndarray) -> tuple[Rulebook, float]:
    return default_rulebook(), load_config().rule_prior_weight


def fitted(settings: FitSettings, base: Callable[[], Rulebook] = default_rulebook) -> Variant:
    def variant(train: pd.DataFrame, p_oof: np.ndarray) -> tuple[Rulebook, float]:
        result = fit_rulebook(train, load_config().acoustic, base(), settings, probabilities=p_oof)
        return result.rulebook, result.prior_weight

    return variant


def empty_rulebook() -> Rulebook:
    return default_rulebook().model_copy(update={"rules": []})


E = empty_rulebook
VARIANTS: dict[str, Variant] = {
    "literature rules, pw=1 (current)": literature,
    "literature, fitted weights+pw, 20% ambiguous": fitted(FitSettings(fit_base=True, ambiguous_share=0.2)),
    "lit + induced(40%), fitted": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True)),
    "induced only (20%)": fitted(FitSettings(fit_base=True, ambiguous_share=0.2, induce=True), E),
    "induced only (30%)": fitted(FitSettings(fit_base=True, ambiguous_share=0.3, induce=True), E),
    "induced only (40%)": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True), E),
    "induced only (60%)": fitted(FitSettings(fit_base=True, ambiguous_share=0.6, induce=True), E),
    "induced only (100%)": fitted(FitSettings(fit_base=True, ambiguous_share=1.0, induce=True), E),
    "induced only (40%), depth 3": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True, max_depth=3), E),
    "induced only (40%), depth 1": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True, max_depth=1), E),
    "induced only (40%), minprec .5": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True, min_precision=0.5), E),
    "induced only (40%), l2=0.03": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True, l2=0.03), E),
    "induced only (40%), l2=0.003": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True, l2=0.003), E),
    "FitSettings() default": fitted(FitSettings()),
    "lit + induced(40%), l2=0.03": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True, l2=0.03)),
    "induced only (30%), l2=0.03": fitted(FitSettings(fit_base=True, ambiguous_share=0.3, induce=True, l2=0.03), E),
    "induced only (60%), l2=0.03": fitted(FitSettings(fit_base=True, ambiguous_share=0.6, induce=True, l2=0.03), E),
    "induced only (40%), pw fixed 1": fitted(FitSettings(fit_base=True, ambiguous_share=0.4, induce=True, fit_prior_weight=False), E),
}


def table(corpus: str, pooled: dict[str, dict[str, list]], seed: int) -> str:
    lines = [f"\n### {corpus}\n", "| variant | score | pipeline F1 | delegated | reasoner F1 on delegated vs acoustic | rules-on-all F1 | oracle F1 | Δ vs acoustic (95% CI, p) |", "|---|---|---:|---:|---:|---:|---:|---|"]
    first = next(iter(pooled.values()))
    truth = np.concatenate(first["truth"])
    acoustic = np.concatenate(first["acoustic"])
    lines.append(f"| acoustic only | - | {_f1(truth, acoustic):.3f} | 0% | - | - | - | - |")
    for name, parts in pooled.items():
        cat = {key: np.concatenate(value) for key, value in parts.items() if key != "score"}
        d = cat["delegated"]
        acc_r, acc_a = np.mean(cat["reasoner"][d] == cat["truth"][d]), np.mean(cat["acoustic"][d] == cat["truth"][d])
        gain = paired_bootstrap(
            [CLASSES[i] for i in truth], [CLASSES[i] for i in acoustic], [CLASSES[i] for i in cat["pipeline"]],
            "macro_f1", n=2000, seed=seed,
        )
        lines.append(
            f"| {name} | {parts['score']} | {_f1(truth, cat['pipeline']):.3f} | {d.mean():.1%} | "
            f"acc {acc_r:.2f} vs {acc_a:.2f} (n={d.sum()}) | {_f1(truth, cat['reasoner']):.3f} | {_f1(truth, cat['oracle']):.3f} | "
            f"{gain.delta:+.3f} ({gain.lo:+.3f} … {gain.hi:+.3f}, p={gain.p_value:.3f}) |"
        )
    return "\n".join(lines)


def _f1(truth: np.ndarray, pred: np.ndarray) -> float:
    return compute_metrics([CLASSES[i] for i in truth], [CLASSES[i] for i in pred]).macro_f1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="ravdess3")
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scores", default="max_prob")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    frame = corpus_features(RAVDESS, 1) if args.corpus == "ravdess3" else demo_features(Path(tempfile.gettempdir()) / "vietser-bench", 1)
    policy = load_config().routing
    folds = [fold_data(args.corpus, frame, k, s) for k, s in enumerate(fold_splits(frame, args.folds, args.seed))]
    pooled: dict[str, dict[str, list]] = {}
    for name, variant in VARIANTS.items():
        if args.only and args.only not in name:
            continue
        for score in args.scores.split(","):
            key = f"{name}"
            entry = pooled.setdefault(f"{key} [{score}]", {"score": score})
            for data in folds:
                for part, value in run_variant(data, variant, score, policy).items():
                    entry.setdefault(part, []).append(value)
    print(table(args.corpus, pooled, args.seed))


if __name__ == "__main__":
    main()
