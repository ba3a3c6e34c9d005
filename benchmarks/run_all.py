"""Every benchmark in one go: Markdown tables per area, and the results as JSON for comparing commits.

Usage::

    python -m benchmarks.run_all [--quick] [--out benchmarks/results/latest.json]
    vietser bench            # the same

Each area runs as its own process (``python -m benchmarks.<name> ...``), so
one area's memory and worker pools cannot distort another's. Sizes are chosen
so the whole table prints in under ten minutes on a 2-core machine; the scale
area extracts ``--scale-n`` generated clips (run ``python -m benchmarks.scale
--n 10000`` for the full 10k figure). The accuracy areas use
../shared/data/ravdess3 when present, always with leave-speakers-out folds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import BENCH_DIR, REPO, machine


def areas(quick: bool, scale_n: int) -> dict[str, list[str]]:
    """Area name → benchmark module and arguments."""
    folds = "3" if quick else "6"
    return {
        "feature extraction": [
            "benchmarks.features", "--limit", "40" if quick else "100", "--demo-dir", str(BENCH_DIR / "demo-corpus"),
        ],
        "scale and memory": ["benchmarks.scale", "--n", str(scale_n), "--dask-n", "100"],
        "predict latency": ["benchmarks.latency", "--clips", "20" if quick else "60"],
        "LLM client path": ["benchmarks.llm"],
        "acoustic models": ["benchmarks.acoustic", "--outer-folds", folds, "--models", "logreg", "svm-linear", "svm-rbf"],
        "pipeline": ["benchmarks.pipeline", "--folds", folds],
        "speech from elsewhere": ["benchmarks.domain", "--folds", folds],
        "calls": ["benchmarks.calls", *(["--quick"] if quick else [])],
    }


def run_area(module: list[str]) -> tuple[str, float, int]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", *module], cwd=REPO, capture_output=True, text=True, check=False
    )
    output = completed.stdout if completed.returncode == 0 else completed.stdout + completed.stderr[-4000:]
    return output.strip(), time.perf_counter() - started, completed.returncode


def git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    return result.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples and 3 folds")
    parser.add_argument("--scale-n", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "latest.json")
    args = parser.parse_args(argv)
    print(f"# vietser benchmarks\n\n{machine()} · commit {git_commit()}\n", flush=True)
    results = {"machine": machine(), "commit": git_commit(), "areas": {}}
    failed = 0
    for name, module in areas(args.quick, args.scale_n).items():
        output, seconds, code = run_area(module)
        failed += code != 0
        print(f"\n# {name} ({seconds:.0f} s{'' if code == 0 else f', FAILED with exit {code}'})\n\n{output}\n", flush=True)
        results["areas"][name] = {"command": " ".join(module), "seconds": seconds, "exit_code": code, "markdown": output}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
