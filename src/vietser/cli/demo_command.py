"""`vietser demo`: the whole job on the built-in synthetic Vietnamese corpus."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vietser.cli.console import console, progress_bar, step, user_errors
from vietser.cli.data_commands import print_extraction_summary
from vietser.cli.llm_options import LLMOptions
from vietser.cli.options import LLMBaseURLOption, LLMModelOption
from vietser.cli.refine_commands import print_rounds
from vietser.cli.run_commands import print_systems

if TYPE_CHECKING:
    from vietser.decision import Decision

SHOWN_CLIPS = 6
# Where the demo departs from the defaults, so that it runs in a minute on two cores: one acoustic
# model on eGeMAPS + prosody, without the emobase view (the slowest set to extract, ten times the
# training time), and no telephone or level copies of the training clips (the corpus has phone lines
# of its own; 40 clips per speaker instead). `vietser run` on the demo corpus trains with the defaults.
DEMO_OVERRIDES = {"acoustic__late_fusion": [], "augment_channels": [], "acoustic__companion_channels": []}


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the corpus, features and run go.")] = Path("vietser-demo"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel feature workers.")] = 2,
    seed: Annotated[int, typer.Option(help="Corpus seed.")] = 0,
    speakers: Annotated[int, typer.Option(help="Synthetic speakers in the corpus.")] = 12,
    clips_per_speaker: Annotated[int, typer.Option(help="Clips per speaker.")] = 40,
    refine_rounds: Annotated[int, typer.Option(help="Rule refinement rounds on the dev split.")] = 2,
    llm_base_url: LLMBaseURLOption = None,
    llm_model: LLMModelOption = None,
) -> None:
    """Synthesise the Vietnamese demo corpus, extract features, train, route, reason, evaluate, report."""
    from vietser.config import load_config
    from vietser.data.demo import make_demo_corpus
    from vietser.data.channel import with_channel_copies
    from vietser.data.manifest import load_manifest
    from vietser.features.cache import channel_cache_dir
    from vietser.run.evaluate import evaluate_run
    from vietser.run.train import train_run
    from vietser.features.extract import extract_features
    from vietser.run.refine import refine_run

    started = time.perf_counter()
    with user_errors():
        corpus_dir = out_dir / "corpus"
        corpus = make_demo_corpus(
            corpus_dir, n_speakers=speakers, clips_per_speaker=clips_per_speaker, seed=seed, n_jobs=jobs
        )
        console.print(f"1. corpus: {corpus.n_clips} synthetic Vietnamese clips, {len(corpus.speakers)} speakers ({corpus.elapsed_s:.1f} s)")
        config = load_config(seed=seed, **DEMO_OVERRIDES)
        manifest = with_channel_copies(
            load_manifest(corpus.manifest_path), config.copied_channels, channel_cache_dir(), config.seed
        )
        with progress_bar("features") as progress:
            extracted = extract_features(manifest, sets=config.feature_sets, jobs=jobs, progress=progress)
        console.print(
            f"2. features: {' + '.join(config.feature_sets)} (openSMILE, Praat), per-speaker z-scores; "
            f"training clips also through {', '.join(config.copied_channels) or 'no'} channel copies "
            "(the demo's lighter configuration: `vietser run` adds telephone and level copies and an emobase view)"
        )
        print_extraction_summary(extracted)
        run_dir = out_dir / "run"
        with step("training the acoustic model"):
            trained = train_run(extracted.frame, config, run_dir)
        views = " + ".join(view.value for view in trained.config.views)
        console.print(
            f"3. acoustic model: {trained.config.model.value} on {views}, "
            f"speaker-CV macro-F1 {trained.cv_.macro_f1_mean:.3f}"
        )
        llm = LLMOptions(llm_base_url, llm_model).overrides()
        with step("routing on dev, reasoning, evaluation"):
            evaluate_run(run_dir, llm=llm)
        console.print("4. routing threshold chosen on dev; rule refinement on dev (test untouched):")
        with step("refinement on dev"):
            rounds = refine_run(run_dir, rounds=refine_rounds, llm=llm)
        print_rounds(rounds)
        console.print(refinement_summary(rounds))
        with step("evaluation after refinement"):
            result = evaluate_run(run_dir, llm=llm)
    console.print("5. evaluation on the test speakers (read once, after refinement):")
    print_systems(result.summary)
    print_delegated(result.systems, _transcripts(run_dir), result.summary["reasoner"])
    console.print(f"report: {result.report.html}  (Markdown: {result.report.markdown})")
    console.print(f"decisions: {run_dir / 'decisions.jsonl'}; review them with `vietser review {run_dir}`")
    console.print(f"done in {time.perf_counter() - started:.0f} s")


def _transcripts(run_dir: Path) -> dict[str, str]:
    from vietser.run.dir import RunDir

    frame = RunDir(run_dir).read_features()
    if "transcript" not in frame.columns:
        return {}
    return {str(c): str(t) for c, t in zip(frame["clip_id"], frame["transcript"]) if isinstance(t, str)}


def refinement_summary(result) -> str:  # noqa: ANN001 - RefinementResult, imported lazily
    """One line: how many candidate edits refinement tried on dev, how many it kept, and why the others went."""
    from collections import Counter

    tried = sum(r.candidates_tried for r in result.rounds)
    kept = sum(len(r.accepted) for r in result.rounds)
    reasons = Counter(rejected.reason for r in result.rounds for rejected in r.rejected)
    why = "; ".join(f"{n} {reason}" for reason, n in reasons.most_common(3))
    return f"refinement tried {tried} candidate edits on dev and kept {kept}" + (f" (not kept: {why})" if why else "")


def shown_clips(pipeline: Sequence[Decision], limit: int = SHOWN_CLIPS) -> list[Decision]:
    """Delegated clips to show: those whose label the reasoner changed first, then the others, in test order."""
    from vietser.decision import Route

    delegated = [d for d in pipeline if d.route == Route.DELEGATED]
    return sorted(delegated, key=lambda d: d.label == d.acoustic_label)[:limit]


def pipeline_verdict(pipeline: Sequence[Decision], acoustic: Sequence[Decision]) -> str | None:
    """One line when the pipeline does not beat acoustic-only on test, with the reason; None when it does."""
    from vietser.decision import Route
    from vietser.evaluate.metrics import compute_metrics

    def macro_f1(decisions: Sequence[Decision]) -> float:
        return compute_metrics([d.true_label for d in decisions], [d.label for d in decisions]).macro_f1

    gain = macro_f1(pipeline) - macro_f1(acoustic)
    if gain > 0:
        return None
    delegated = [d for d in pipeline if d.route == Route.DELEGATED]
    if not delegated:
        return "on these test speakers the pipeline equals acoustic-only: the router delegated no test clip"
    reasoner_right = sum(d.label == d.true_label for d in delegated)
    acoustic_right = sum(d.acoustic_label == d.true_label for d in delegated)
    return (
        f"on these test speakers the pipeline does not beat acoustic-only (macro-F1 {gain:+.3f}): of the "
        f"{len(delegated)} delegated clips the reasoner got {reasoner_right} right, the acoustic model {acoustic_right}"
    )


def print_delegated(systems: Mapping[str, Sequence[Decision]], transcripts: Mapping[str, str], reasoner: str) -> None:
    """A few delegated test clips (what was said, acoustic guess, the reasoner's answer, rule, truth), who decided
    them and how to put an LLM in the reasoner's place."""
    from vietser.run.systems import ACOUSTIC_ONLY, PIPELINE

    pipeline = systems[PIPELINE]
    shown = shown_clips(pipeline)
    delegated = sum(d.route.value == "delegated" for d in pipeline)
    table = Table(title=f"delegated test clips ({delegated} of {len(pipeline)}), decided by the {reasoner} reasoner")
    for column in ("clip", "said", "acoustic guess", "reasoner", "rule fired", "truth"):
        table.add_column(column, overflow="fold")
    for d in shown:
        said = transcripts.get(d.clip_id, "")
        table.add_row(
            d.clip_id.rsplit("/", 1)[-1].removesuffix(".wav"),
            said if len(said) <= 40 else said[:39] + "…",
            f"{d.acoustic_label} {d.acoustic_probabilities[d.acoustic_label]:.2f}",
            f"{d.label} {d.probabilities[d.label]:.2f}",
            ", ".join(d.rules_applied) or "-",
            f"{d.true_label} {'✓' if d.label == d.true_label else '✗'}",
        )
    console.print(table)
    verdict = pipeline_verdict(pipeline, systems[ACOUSTIC_ONLY])
    if verdict:
        console.print(verdict)
    if reasoner != "llm":
        console.print(
            "the rule engine decided the delegated clips; to let an LLM decide them, rerun with "
            "`--llm-base-url http://HOST:PORT/v1` (any OpenAI-compatible server), or evaluate this run with "
            "`vietser evaluate RUN --llm local --llm-gguf PATH` (llama-server, offline)"
        )


def register(app: typer.Typer) -> None:
    app.command()(demo)
