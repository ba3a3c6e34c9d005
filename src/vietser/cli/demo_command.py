"""`vietser demo`: the whole job on the built-in synthetic Vietnamese corpus."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from vietser.cli.console import console, progress_bar, step, user_errors
from vietser.cli.data_commands import print_extraction_summary
from vietser.cli.options import LLMBaseURLOption, LLMModelOption, llm_config
from vietser.cli.refine_commands import print_rounds
from vietser.cli.run_commands import print_systems


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the corpus, features and run go.")] = Path("vietser-demo"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel feature workers.")] = 2,
    seed: Annotated[int, typer.Option(help="Corpus seed.")] = 0,
    speakers: Annotated[int, typer.Option(help="Synthetic speakers in the corpus.")] = 12,
    clips_per_speaker: Annotated[int, typer.Option(help="Clips per speaker.")] = 30,
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
        config = load_config(seed=seed)
        manifest = with_channel_copies(
            load_manifest(corpus.manifest_path), config.augment_channels, channel_cache_dir(), config.seed
        )
        with progress_bar("features") as progress:
            extracted = extract_features(manifest, sets=config.feature_sets, jobs=jobs, progress=progress)
        console.print(
            "2. features: eGeMAPSv02 + emobase (openSMILE) + Praat prosody, per-speaker z-scores; "
            f"training clips also through {', '.join(config.augment_channels) or 'no'} channel copies; "
            "evidence and rules read eGeMAPS + prosody"
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
        llm = llm_config(llm_base_url, llm_model)
        with step("routing on dev, reasoning, evaluation"):
            evaluate_run(run_dir, llm=llm)
        console.print("4. routing threshold chosen on dev; rule refinement on dev (test untouched):")
        with step("refinement on dev"):
            rounds = refine_run(run_dir, rounds=refine_rounds, llm=llm)
        print_rounds(rounds)
        with step("evaluation after refinement"):
            result = evaluate_run(run_dir, llm=llm)
    console.print("5. evaluation on the test speakers (read once, after refinement):")
    print_systems(result.summary)
    console.print(f"report: {result.report.html}  (Markdown: {result.report.markdown})")
    console.print(f"decisions: {run_dir / 'decisions.jsonl'}; review them with `vietser review {run_dir}`")
    console.print(f"done in {time.perf_counter() - started:.0f} s")


def register(app: typer.Typer) -> None:
    app.command()(demo)
