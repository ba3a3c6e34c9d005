"""Benchmark the whole pipeline with leave-speakers-out folds.

Usage::

    python -m benchmarks.pipeline [--data ../shared/data/ravdess3] [--folds 6] [--jobs 2] [--rounds 2]

For every fold the held-out speakers are the test split; of the remaining
speakers a quarter are the dev split and the rest train. In each fold the
acoustic model is fitted on train, the routing threshold and the rule
refinement are chosen on dev, and only then is the test split decided — the
same code path as `vietser run` + `vietser refine`. Test decisions are pooled
over folds. Printed: macro-F1 / accuracy / UA and delegation rate per system
(acoustic only, rules only, pipeline before and after refinement, oracle
routing), the pipeline's paired-bootstrap gain over acoustic only, clips/s of
the acoustic path (evidence included), and prompt tokens per delegated clip
when the prompts are rendered for an LLM (counted by the scripted
OpenAI-protocol server, ~4 characters per token).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import BENCH_DIR, RAVDESS, corpus_features, demo_features, machine
from vietser.run.dir import FEATURES_FILE, RULEBOOK_FILE, RunDir
from vietser.acoustic import AcousticModel, load_model
from vietser.config import RunConfig, load_config, read_run_config
from vietser.decision import Decision
from vietser.evaluate import compute_metrics, paired_bootstrap
from vietser.evidence import ClassProfiles
from vietser.pipeline import reasoning_requests, split_view
from vietser.run.evaluate import evaluate_run
from vietser.run.systems import PIPELINE
from vietser.run.train import train_run
from vietser.features.extract import read_features
from vietser.llm.client import LLMConfig
from vietser.llm.reasoner import LLMReasoner
from vietser.testing.scripted_server import ScriptedOpenAIServer
from vietser.run.refine import refine_run
from vietser.routing import load_router
from vietser.rules.rulebook import load_rulebook


def fold_splits(frame: pd.DataFrame, folds: int, seed: int) -> list[pd.Series]:
    """One split column per fold: test = the fold's speakers, dev = a quarter of the others, train = the rest."""
    rng = np.random.default_rng(seed)
    speakers = np.array(sorted(frame["speaker"].unique()))
    rng.shuffle(speakers)
    columns = []
    for test in np.array_split(speakers, folds):
        rest = [s for s in speakers if s not in set(test)]
        dev = set(rest[: max(1, len(rest) // 4)])
        split = frame["speaker"].map(lambda s: "test" if s in set(test) else "dev" if s in dev else "train")
        columns.append(split)
    return columns


def run_fold(
    frame: pd.DataFrame, split: pd.Series, run_dir: Path, rounds: int
) -> tuple[dict[str, list[Decision]], str]:
    """Systems on this fold's test speakers, before and after refinement on its dev speakers, and a rounds row."""
    features = frame.assign(split=split.to_numpy())
    train_run(features, load_config(), run_dir)
    before = evaluate_run(run_dir)
    refinement = refine_run(run_dir, rounds=rounds)
    after = evaluate_run(run_dir)
    kept = sum(len(r.accepted) for r in refinement.rounds)
    row = (
        f"| {run_dir.name} | {len(refinement.rounds)} | {kept} | {refinement.initial_dev:.3f} | "
        f"{refinement.final_dev:.3f} | {after.summary['test'][PIPELINE]['macro_f1']:.3f} | "
        f"{after.summary['test'][PIPELINE]['delegation_rate']:.1%} |"
    )
    return {**before.systems, "pipeline + refinement": after.systems[PIPELINE]}, row


def last_fold_test(run_dir: Path) -> tuple[pd.DataFrame, AcousticModel, ClassProfiles, RunConfig]:
    """The test rows of a fold's run directory with the model, profiles and config that decide them."""
    features = read_features(run_dir / FEATURES_FILE)
    test = features[features["split"] == "test"]
    return test, load_model(run_dir), RunDir(run_dir).read_profiles(), read_run_config(run_dir)


def acoustic_path_speed(run_dir: Path) -> float:
    """Clips/s of probabilities + evidence + routing on the last fold's test rows."""
    test, model, profiles, config = last_fold_test(run_dir)
    started = time.perf_counter()
    view = split_view(model, profiles, test, config)
    load_router(run_dir).route(view.probabilities)
    return len(test) / (time.perf_counter() - started)


def prompt_tokens_per_clip(run_dir: Path, n: int = 20) -> float:
    """Prompt tokens of an LLM request for delegated clips, as the scripted server counts them."""
    test, model, profiles, config = last_fold_test(run_dir)
    view = split_view(model, profiles, test.head(n), config)
    rulebook = load_rulebook(run_dir / RULEBOOK_FILE)
    with tempfile.TemporaryDirectory() as cache, ScriptedOpenAIServer() as server:
        llm = LLMConfig(base_url=server.base_url, model="scripted-model", cache_path=Path(cache) / "c.sqlite")
        reasoner = LLMReasoner(llm, rulebook)
        reasoner.reason(reasoning_requests(view.frame, view.probabilities, view.evidence))
        return reasoner.usage.prompt_tokens / max(reasoner.usage.requests, 1)


def pooled_table(corpus: str, systems: dict[str, list[Decision]], seed: int) -> str:
    truth = [d.true_label for d in systems[PIPELINE]]
    lines = [
        f"\n### {corpus}: {len(truth)} test clips pooled over folds\n",
        "| system | macro-F1 | accuracy | UA | delegated |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, decisions in systems.items():
        m = compute_metrics(truth, [d.label for d in decisions])
        delegated = np.mean([d.route.value == "delegated" for d in decisions])
        lines.append(f"| {name} | {m.macro_f1:.3f} | {m.accuracy:.3f} | {m.unweighted_accuracy:.3f} | {delegated:.1%} |")
    for name in (PIPELINE, "pipeline + refinement"):
        gain = paired_bootstrap(truth, [d.label for d in systems["acoustic only"]], [d.label for d in systems[name]], "macro_f1", n=2000, seed=seed)
        lines.append(f"\n{name} − acoustic only, macro-F1: {gain.delta:+.3f} (95% paired bootstrap {gain.lo:+.3f} … {gain.hi:+.3f}, p = {gain.p_value:.3f})")
    return "\n".join(lines)


def benchmark(corpus: str, frame: pd.DataFrame, folds: int, rounds: int, seed: int) -> str:
    pooled: dict[str, list[Decision]] = {}
    rounds_table = [
        "\nrefinement per fold (dev split; test read once at the end)\n",
        "| fold | rounds | edits kept | dev macro-F1 start | dev macro-F1 end | test macro-F1 | delegated (test) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for k, split in enumerate(fold_splits(frame, folds, seed)):
            systems, row = run_fold(frame, split, Path(scratch) / f"fold{k}", rounds)
            rounds_table.append(row)
            for name, decisions in systems.items():
                pooled.setdefault(name, []).extend(decisions)
        last = Path(scratch) / f"fold{folds - 1}"
        speed, tokens = acoustic_path_speed(last), prompt_tokens_per_clip(last)
    return pooled_table(corpus, pooled, seed) + "\n".join(rounds_table) + (
        f"\n\nacoustic path (features already extracted): {speed:.0f} clips/s; "
        f"prompt tokens per delegated clip: {tokens:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=RAVDESS)
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR)
    args = parser.parse_args()
    print(f"## Pipeline benchmark\n\n{machine()}")
    corpora = {"demo (synthetic Vietnamese)": demo_features(args.workdir, args.jobs)}
    if (args.data / "manifest.csv").is_file():
        corpora[args.data.name] = corpus_features(args.data, args.jobs)
    for corpus, frame in corpora.items():
        print(benchmark(corpus, frame, args.folds, args.rounds, args.seed))


if __name__ == "__main__":
    main()
