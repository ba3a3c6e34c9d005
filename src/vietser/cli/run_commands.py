"""Model commands: train, evaluate, run, bench."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from vietser.cli.console import console, err_console, progress_bar, step, user_errors
from vietser.cli.data_commands import (
    DevFractionOption,
    LabelMapOption,
    TestFractionOption,
    print_extraction_summary,
    training_manifest,
)
from vietser.cli.llm_options import (
    LLMBackendOption,
    LLMBaselineOption,
    LLMConcurrencyOption,
    LLMGGUFOption,
    LLMMaxTokensOption,
    LLMOptions,
    LLMRetriesOption,
    LLMRevisionOption,
    LLMStructuredOutputOption,
    LLMTimeoutOption,
    llm_session,
)
from vietser.cli.options import (
    ConfigOption,
    FeatureSetOption,
    LateFusionOption,
    LLMBaseURLOption,
    LLMModelOption,
    LLMPromptTemplateOption,
    LLMSystemTemplateOption,
    ModelOption,
    NormalisationOption,
    RulebookOption,
    feature_set_list,
    prompt_templates,
)

from vietser.decision import Decision, Route

if TYPE_CHECKING:
    from vietser.config import RunConfig
    from vietser.llm.client import LLMOverrides, PromptTemplates

DECISIONS_CSV = "decisions.csv"
FALLBACK_WARNING_SHARE = 0.20
OutputRunOption = Annotated[Path, typer.Option("-o", "--output", help="Run directory to write.")]
SourceArgument = Annotated[
    Path,
    typer.Argument(
        metavar="MANIFEST_OR_FEATURES",
        help="Manifest (.csv/.jsonl; without a split column its speakers are dealt out) or features (.parquet).",
    ),
]
JobsOption = Annotated[int, typer.Option("--jobs", "-j", help="Parallel feature workers.")]


@dataclass(frozen=True)
class ManifestOptions:
    """How a manifest becomes a training set: its label mapping, and the split shares when it has none."""

    label_map: list[str] | None = None
    dev_fraction: float = 0.2
    test_fraction: float = 0.2


def print_systems(summary: dict, title: str | None = None) -> None:
    """The systems compared on the test split (or another corpus), side by side."""
    table = Table(title=title or f"test split — reasoner: {summary['reasoner']}")
    for column in ("system", "accuracy", "UA", "macro-F1", "delegated"):
        table.add_column(column, justify="left" if column == "system" else "right")
    for name, scores in summary["test"].items():
        if name == "pipeline_vs_acoustic":
            continue
        table.add_row(
            name,
            f"{scores['accuracy']:.3f}",
            f"{scores['unweighted_accuracy']:.3f}",
            f"{scores['macro_f1']:.3f}",
            f"{scores['delegation_rate']:.0%}",
        )
    console.print(table)
    gain = summary["test"]["pipeline_vs_acoustic"]
    console.print(
        f"pipeline − acoustic macro-F1: {gain['delta']:+.3f} (95% paired bootstrap {gain['lo']:+.3f} … {gain['hi']:+.3f})"
    )


def _config(config_path, model, feature_set, late_fusion, normalisation, rulebook) -> RunConfig:  # noqa: ANN001 - CLI option values
    from vietser.config import load_config

    return load_config(
        config_path,
        acoustic__model=model,
        acoustic__feature_set=feature_set,
        acoustic__late_fusion=feature_set_list(late_fusion),
        acoustic__normalisation=normalisation,
        rulebook=rulebook,
    )


def _train(features_path: Path, output: Path, config: RunConfig) -> None:
    from vietser.run.train import train_run
    from vietser.features.extract import read_features

    with step("training: speaker-grouped CV with hyperparameter search, calibration, refit on train + dev, rule fit"):
        trained = train_run(read_features(features_path), config, output)
    views = " + ".join(view.value for view in trained.config.views)
    console.print(
        f"trained {trained.config.model.value} on {views} "
        f"({trained.config.normalisation.value}-normalised): speaker-CV macro-F1 "
        f"{trained.cv_.macro_f1_mean:.3f} ± {trained.cv_.macro_f1_std:.3f}, params {trained.cv_.best_params}"
    )
    if trained.calibration_ is not None:
        c = trained.calibration_
        console.print(f"calibration ({c.method.value}): ECE {c.ece_before:.3f} → {c.ece_after:.3f}, Brier {c.brier_before:.3f} → {c.brier_after:.3f}")


def train(
    source: SourceArgument,
    output: OutputRunOption,
    config_path: ConfigOption = None,
    model: ModelOption = None,
    feature_set: FeatureSetOption = None,
    late_fusion: LateFusionOption = None,
    normalisation: NormalisationOption = None,
    rulebook: RulebookOption = None,
    jobs: JobsOption = 1,
    label_map: LabelMapOption = None,
    dev_fraction: DevFractionOption = 0.2,
    test_fraction: TestFractionOption = 0.2,
) -> None:
    """Train the acoustic model on the train split (speaker-grouped CV, calibrated) into a run directory.

    From a manifest, features are extracted first (cached), as in `vietser run`.
    """
    with user_errors():
        config = _config(config_path, model, feature_set, late_fusion, normalisation, rulebook)
        features_path = _features_for(source, output, jobs, config, ManifestOptions(label_map, dev_fraction, test_fraction))
        _train(features_path, output, config)
    console.print(f"run directory: {output}")


def print_llm_usage(usage: dict) -> None:
    """Calls, fallbacks by reason, tokens per clip and latency of the LLM; loud above 20 % fallbacks."""
    table = Table(title=f"LLM usage ({usage['structured_output'] or 'no'} structured output)")
    for column in ("clips", "calls", "from log", "fallbacks", "tokens/clip in", "tokens/clip out", "p50 s", "p95 s"):
        table.add_column(column, justify="right")
    live = max(usage["requests"] - usage["cache_hits"], 1)
    table.add_row(
        str(usage["requests"]),
        str(usage["calls"]),
        str(usage["cache_hits"]),
        str(usage["fallbacks"]),
        f"{usage['prompt_tokens'] / live:.0f}",
        f"{usage['completion_tokens'] / live:.0f}",
        f"{usage['p50_latency_s']:.2f}",
        f"{usage['p95_latency_s']:.2f}",
    )
    console.print(table)
    for reason, count in sorted(usage["failures"].items(), key=lambda item: -item[1]):
        console.print(f"  fallback: {reason} × {count}")
    share = usage["fallbacks"] / usage["requests"] if usage["requests"] else 0.0
    if share > FALLBACK_WARNING_SHARE:
        err_console.print(
            f"[bold red]warning:[/] {share:.0%} of the LLM answers were unusable and kept the acoustic label; "
            "the LLM rows above score the acoustic model, not the LLM. Check the endpoint with `vietser llm check`."
        )
    if usage.get("short_prompts"):
        err_console.print(
            f"[bold red]warning:[/] the server cut {usage['short_prompts']} prompts (far fewer prompt tokens than "
            "sent); raise its context length (llama-server -c 8192, OLLAMA_CONTEXT_LENGTH=8192)."
        )


def _evaluate(run_dir: Path, llm: LLMOverrides | None, templates: PromptTemplates) -> None:
    from vietser.run.evaluate import evaluate_run

    from vietser.decision_table import write_decisions_csv

    with step("evaluation: routing chosen on dev, reasoning over delegated clips, baselines, bootstrap, report"):
        result = evaluate_run(run_dir, llm=llm, templates=templates)
    print_systems(result.summary)
    if "llm_usage" in result.summary:
        print_llm_usage(result.summary["llm_usage"])
    print_outcomes([d for d in result.decisions if d.split == "test"], "test")
    table = write_decisions_csv(result.decisions, run_dir / DECISIONS_CSV)
    console.print(f"report: {result.report.markdown} and {result.report.html}; decisions also as {table}")


def print_outcomes(decisions: Sequence[Decision], what: str) -> None:
    """Who decided the clips: delegated, decided by the reasoner, fallbacks by reason (on stderr)."""
    delegated = [d for d in decisions if d.route == Route.DELEGATED]
    fallbacks = Counter(d.fallback_reason or "no reason recorded" for d in decisions if d.fallback)
    by_reasoner = Counter(d.reasoner for d in delegated if not d.fallback)
    decided = ", ".join(f"{count} by {name}" for name, count in sorted(by_reasoner.items())) or "none by a reasoner"
    err_console.print(
        f"{what}: {len(decisions)} clips, {len(delegated)} delegated ({decided}), "
        f"{sum(fallbacks.values())} fallbacks"
    )
    for reason, count in fallbacks.most_common():
        err_console.print(f"  [yellow]fallback[/] × {count}: {reason}")


def evaluate(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="Run directory from `vietser train`.")],
    llm_base_url: LLMBaseURLOption = None,
    llm_model: LLMModelOption = None,
    llm_system_template: LLMSystemTemplateOption = None,
    llm_prompt_template: LLMPromptTemplateOption = None,
    llm: LLMBackendOption = None,
    llm_gguf: LLMGGUFOption = None,
    llm_timeout: LLMTimeoutOption = None,
    llm_concurrency: LLMConcurrencyOption = None,
    llm_retries: LLMRetriesOption = None,
    llm_max_tokens: LLMMaxTokensOption = None,
    llm_structured_output: LLMStructuredOutputOption = None,
    llm_revision: LLMRevisionOption = None,
    llm_baseline: LLMBaselineOption = None,
    on: Annotated[
        Optional[Path],
        typer.Option(
            help="A labelled manifest of another corpus: decide and score all of its clips with the trained "
            "run as it is (train here, test there); writes RUN/transfer/<manifest name>/.",
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel feature workers (with --on).")] = 1,
    label_map: LabelMapOption = None,
) -> None:
    """Route, reason and evaluate: thresholds from dev, report on test (report.md, report.html).

    --label-map maps the labels of the --on manifest.
    """
    with user_errors():
        if label_map and on is None:
            raise typer.BadParameter("--label-map maps the labels of a manifest: give it with --on MANIFEST")
        templates = prompt_templates(llm_system_template, llm_prompt_template)
        options = LLMOptions(
            llm_base_url, llm_model, llm, llm_gguf, llm_timeout, llm_concurrency, llm_retries, llm_max_tokens,
            llm_structured_output, llm_revision, llm_baseline,
        )
        with llm_session(options) as settings:
            if on is None:
                _evaluate(run_dir, settings, templates)
            else:
                _evaluate_on(run_dir, on, jobs, settings, templates, label_map)


def _evaluate_on(run_dir: Path, manifest_path: Path, jobs: int, llm, templates, label_map) -> None:  # noqa: ANN001
    from vietser.data.manifest import load_manifest
    from vietser.run.predict import load_predictor
    from vietser.run.dir import RunDir
    from vietser.run.transfer import evaluate_on, transfer_dir
    from vietser.decision_table import write_decisions_csv

    predictor = load_predictor(run_dir, llm, templates)
    with predictor.reasoner:
        manifest = load_manifest(manifest_path, label_map, default_split="test")
        with step(f"deciding and scoring {manifest_path.name}"):
            result = evaluate_on(predictor, manifest, manifest_path.stem, jobs)
    out = transfer_dir(run_dir, manifest_path)
    out.mkdir(parents=True, exist_ok=True)
    RunDir(out).write_decisions(result.decisions)
    RunDir(out).write_skipped(result.skipped)
    RunDir(out).write_summary(result.summary)
    write_decisions_csv(result.decisions, out / DECISIONS_CSV)
    print_systems(result.summary, f"{manifest_path.stem} — reasoner: {result.summary['reasoner']}")
    print_outcomes(result.decisions, manifest_path.stem)
    console.print(
        f"{result.summary['clips']} clips decided, {result.summary['skipped']} skipped; "
        f"out of the training domain: {result.summary['out_of_domain_share']:.0%} → {out}"
    )


def run(
    source: SourceArgument,
    output: OutputRunOption,
    config_path: ConfigOption = None,
    model: ModelOption = None,
    feature_set: FeatureSetOption = None,
    late_fusion: LateFusionOption = None,
    normalisation: NormalisationOption = None,
    rulebook: RulebookOption = None,
    jobs: JobsOption = 1,
    label_map: LabelMapOption = None,
    dev_fraction: DevFractionOption = 0.2,
    test_fraction: TestFractionOption = 0.2,
    llm_base_url: LLMBaseURLOption = None,
    llm_model: LLMModelOption = None,
    llm_system_template: LLMSystemTemplateOption = None,
    llm_prompt_template: LLMPromptTemplateOption = None,
    llm: LLMBackendOption = None,
    llm_gguf: LLMGGUFOption = None,
    llm_timeout: LLMTimeoutOption = None,
    llm_concurrency: LLMConcurrencyOption = None,
    llm_retries: LLMRetriesOption = None,
    llm_max_tokens: LLMMaxTokensOption = None,
    llm_structured_output: LLMStructuredOutputOption = None,
    llm_revision: LLMRevisionOption = None,
    llm_baseline: LLMBaselineOption = None,
) -> None:
    """The whole pipeline: features (cached) → train → route → reason → decisions.jsonl + report.

    A manifest without a split column gets a speaker-independent split, seeded
    by the configuration's seed (--dev-fraction, --test-fraction), announced in one line.
    """
    with user_errors():
        config = _config(config_path, model, feature_set, late_fusion, normalisation, rulebook)
        features_path = _features_for(source, output, jobs, config, ManifestOptions(label_map, dev_fraction, test_fraction))
        _train(features_path, output, config)
        # The --config file is part of this command line, so its templates are too.
        templates = prompt_templates(llm_system_template, llm_prompt_template, config.llm)
        options = LLMOptions(
            llm_base_url, llm_model, llm, llm_gguf, llm_timeout, llm_concurrency, llm_retries, llm_max_tokens,
            llm_structured_output, llm_revision, llm_baseline,
        )
        with llm_session(options) as settings:
            _evaluate(output, settings, templates)


def _features_for(source: Path, output: Path, jobs: int, config: RunConfig, options: ManifestOptions) -> Path:
    """The features table of a run: ``source`` itself, or extracted from the manifest ``source`` (split by
    speaker when it has no split column) with its training clips through the configured channels."""
    if source.suffix == ".parquet":
        return source
    from vietser.data.channel import with_channel_copies
    from vietser.features.cache import channel_cache_dir
    from vietser.features.stream import extract_to_parquet
    from vietser.run.dir import EXTRACTED_FEATURES_FILE, RunDir

    path = output / EXTRACTED_FEATURES_FILE
    frame = training_manifest(source, options.label_map, options.dev_fraction, options.test_fraction, config.seed)
    manifest = with_channel_copies(frame, config.copied_channels, channel_cache_dir(), config.seed)
    with progress_bar("features") as progress:
        result = extract_to_parquet(manifest, path, sets=config.feature_sets, jobs=jobs, progress=progress)
    print_extraction_summary(result)
    RunDir(output).write_skipped(result.skipped)
    return path


def bench(
    quick: Annotated[bool, typer.Option(help="Smaller samples and 3 folds.")] = False,
) -> None:
    """Run every benchmark (speed, memory, accuracy) and print the tables; results saved as JSON."""
    import subprocess

    import vietser

    checkout = Path(vietser.__file__).resolve().parents[2]
    if not (checkout / "benchmarks" / "run_all.py").is_file():
        err_console.print("[bold red]error:[/] `vietser bench` runs from a source checkout (benchmarks/ is not installed)")
        raise typer.Exit(code=2)
    command = [sys.executable, "-m", "benchmarks.run_all", *(["--quick"] if quick else [])]
    raise typer.Exit(code=subprocess.run(command, cwd=checkout, check=False).returncode)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(evaluate)
    app.command()(run)
    app.command()(bench)
