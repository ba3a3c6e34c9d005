"""Data commands: corpus manifests, the demo corpus, feature extraction."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from vietser.cli.console import console, err_console, progress_bar, user_errors
from vietser.cli.options import feature_set_list

if TYPE_CHECKING:
    import pandas as pd

LabelMapOption = Annotated[
    Optional[list[str]],
    typer.Option("--label-map", help="Label mapping: 'happy=calm,sad=none' pairs or a YAML/JSON file; repeatable."),
]
DevFractionOption = Annotated[
    float,
    typer.Option(help="Share of speakers dealt to dev when the manifest has no split column."),
]
TestFractionOption = Annotated[
    float,
    typer.Option(help="Share of speakers dealt to test when the manifest has no split column."),
]


def manifest(
    corpus: Annotated[str, typer.Argument(help="ravdess, crema-d, tess or emodb")],
    root: Annotated[Path, typer.Argument(help="The corpus folder, laid out as its authors publish it.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Manifest file to write (.csv or .jsonl).")],
    label_map: LabelMapOption = None,
) -> None:
    """Build a manifest from a public corpus (RAVDESS, CREMA-D, TESS, EmoDB)."""
    from vietser.data.corpora import build_corpus_manifest
    from vietser.data.manifest import write_manifest

    with user_errors():
        result = build_corpus_manifest(corpus, root, label_map=label_map)
        write_manifest(result.frame, output)
    table = Table(title=f"{corpus} → {output}")
    for column in ("label", "split"):
        table.add_column(column)
    table.add_column("clips", justify="right")
    for (label, split), count in result.frame.groupby(["label", "split"]).size().items():
        table.add_row(label, split, str(count))
    console.print(table)
    if result.left_out:
        left = ", ".join(f"{name}: {count}" for name, count in sorted(result.left_out.items()))
        console.print(f"left out (not mapped onto calm/angry/panic): {left}")


def make_demo(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the demo corpus into.")],
    speakers: Annotated[int, typer.Option(help="Number of synthetic speakers.")] = 12,
    clips_per_speaker: Annotated[int, typer.Option(help="Clips per speaker.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives identical files.")] = 0,
) -> None:
    """Synthesise the built-in Vietnamese demo corpus (espeak-ng, offline)."""
    from vietser.data.demo import make_demo_corpus

    with user_errors():
        corpus = make_demo_corpus(out_dir, n_speakers=speakers, clips_per_speaker=clips_per_speaker, seed=seed)
    console.print(f"wrote {corpus.n_clips} clips from {len(corpus.speakers)} speakers; manifest: {corpus.manifest_path}")


def features(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="Manifest file (.csv or .jsonl).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Features file to write (.parquet).")],
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel workers.")] = 1,
    backend: Annotated[str, typer.Option(help="joblib backend: loky (local) or dask.")] = "loky",
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Per-clip feature cache (default: $VIETSER_CACHE_DIR/features).")] = None,
    label_map: LabelMapOption = None,
    chunk_size: Annotated[int, typer.Option(help="Clips per parquet part; memory stays bounded by it.")] = 500,
    sets: Annotated[
        Optional[str],
        typer.Option(help="Feature sets, comma-separated: egemaps, prosody, emobase, compare (default: all but compare)."),
    ] = None,
    dev_fraction: DevFractionOption = 0.2,
    test_fraction: TestFractionOption = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the speaker split (a run configuration's `seed`).")] = 0,
) -> None:
    """Extract openSMILE (eGeMAPS, emobase) + Praat prosody features for every clip (parallel, cached by audio content, resumable).

    A manifest without a split column gets a seeded speaker-independent split
    (--dev-fraction, --test-fraction, --seed), announced in one line.
    """
    from vietser.features.catalog import DEFAULT_SETS
    from vietser.features.stream import extract_to_parquet

    with user_errors():
        frame = training_manifest(manifest_path, label_map, dev_fraction, test_fraction, seed)
        with progress_bar("features") as progress:
            result = extract_to_parquet(
                frame,
                output,
                sets=tuple(feature_set_list(sets) or DEFAULT_SETS),
                chunk_size=chunk_size,
                jobs=jobs,
                backend=backend,
                scheduler=scheduler,
                cache_dir=cache_dir,
                progress=progress,
            )
    print_extraction_summary(result)
    console.print(f"features: {output}")


def training_manifest(
    path: Path, label_map: list[str] | None, dev_fraction: float, test_fraction: float, seed: int
) -> pd.DataFrame:
    """The manifest at ``path`` with its splits (dealt out by speaker when it has none), announced."""
    from vietser.data.splits import load_training_manifest

    manifest = load_training_manifest(path, label_map, dev_fraction, test_fraction, seed)
    if manifest.dealt:
        err_console.print(f"[yellow]note:[/] {manifest.notice(path)}")
    return manifest.frame


def print_extraction_summary(result) -> None:  # noqa: ANN001 - ExtractionResult, imported lazily
    """Counts of computed, cached and skipped clips; every skipped clip by path and reason."""
    console.print(
        f"clips: {result.rows} extracted ({result.computed} computed, {result.cached} from cache), "
        f"{len(result.skipped)} skipped"
    )
    for skipped in result.skipped:
        err_console.print(f"[yellow]skipped[/] {skipped.path}: {skipped.reason}")


def register(app: typer.Typer) -> None:
    app.command()(manifest)
    app.command("make-demo")(make_demo)
    app.command()(features)
