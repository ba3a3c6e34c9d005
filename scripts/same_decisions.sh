#!/usr/bin/env bash
# Same decisions before and after a change of structure: run `vietser demo` (seed 0) and a fixed
# `vietser run` on ravdess3 at two git revisions, then diff decisions.jsonl, summary.json and report.md
# with absolute paths normalised, and what `vietser predict` says of one test actor's files with that
# run (the path that decides new audio). Exit 0 when every file is the same, 1 otherwise.
#
#   scripts/same_decisions.sh BEFORE_REV AFTER_REV [--no-ravdess]
#
# Each revision is checked out with `git worktree add` under $SAME_DIR (default /tmp/vietser-same) and
# run with this checkout's .venv (PYTHONPATH points at the worktree's src/). Results are kept per commit,
# so the baseline is computed once. Features are cached by audio content in $SAME_DIR/cache, shared by
# both revisions. ravdess3 (read-only, /work/shared/data/ravdess3) gets a fixed speaker split:
# actors 1-12 train, 13-15 dev, 16-18 test.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
python="$repo/.venv/bin/python"
same_dir=${SAME_DIR:-/tmp/vietser-same}
ravdess=${RAVDESS_DIR:-/work/shared/data/ravdess3}
before=$(git rev-parse "${1:?usage: $0 BEFORE_REV AFTER_REV [--no-ravdess]}")
after=$(git rev-parse "${2:?usage: $0 BEFORE_REV AFTER_REV [--no-ravdess]}")
with_ravdess=$([ "${3:-}" = "--no-ravdess" ] && echo no || echo yes)
mkdir -p "$same_dir/cache" "$same_dir/runs"
export VIETSER_CACHE_DIR="$same_dir/cache"

ravdess_manifest() {
    local out="$same_dir/ravdess3-split.csv"
    [ -f "$out" ] || "$python" - "$ravdess" "$out" <<'EOF'
import sys
from pathlib import Path
import pandas as pd
root, out = Path(sys.argv[1]), sys.argv[2]
frame = pd.read_csv(root / "manifest.csv")
actor = frame["speaker"].str.removeprefix("ravdess_").astype(int)
frame["split"] = ["train" if a <= 12 else "dev" if a <= 15 else "test" for a in actor]
frame["path"] = [str(root / p) for p in frame["path"]]
frame[["path", "label", "speaker", "split"]].to_csv(out, index=False)
EOF
    echo "$out"
}

vietser_at() {  # vietser_at WORKTREE ARGS...: the CLI of that revision
    local tree=$1
    shift
    PYTHONPATH="$tree/src" "$python" -c 'import sys; from vietser.cli import app; sys.argv[0] = "vietser"; app()' "$@"
}

run_revision() {  # run_revision SHA: demo (and ravdess3) outputs under $same_dir/runs/SHA
    local sha=$1 out="$same_dir/runs/$1" tree="$same_dir/tree-$1"
    if [ -f "$out/done" ] && { [ "$with_ravdess" = no ] || [ -f "$out/predict-done" ]; }; then
        return
    fi
    [ -d "$tree" ] || git worktree add --detach "$tree" "$sha" >/dev/null
    mkdir -p "$out"
    if [ ! -f "$out/done" ]; then
        rm -rf "$out/demo"
        vietser_at "$tree" demo --out "$out/demo" --seed 0 -j 2 >"$out/demo.log" 2>&1
        touch "$out/done"
    fi
    if [ "$with_ravdess" = yes ] && [ ! -f "$out/ravdess-done" ]; then
        rm -rf "$out/ravdess"
        vietser_at "$tree" run "$(ravdess_manifest)" -o "$out/ravdess" -j 2 >"$out/ravdess.log" 2>&1
        touch "$out/ravdess-done"
    fi
    if [ "$with_ravdess" = yes ] && [ ! -f "$out/predict-done" ]; then
        vietser_at "$tree" predict "$ravdess/audio/Actor_16" --run "$out/ravdess" --speaker-from folder \
            -o "$out/ravdess-predict.jsonl" >"$out/predict.log" 2>&1
        touch "$out/predict-done"
    fi
}

normalised() {  # normalised SHA FILE: the file with that revision's paths replaced by placeholders
    sed -E -e "s#$same_dir/runs/$1#OUT#g" -e "s#$same_dir/tree-$1#TREE#g" -e "s#$1#REV#g" \
        -e "s#[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC#TIME#g" "$same_dir/runs/$1/$2"
}

run_revision "$before"
run_revision "$after"
status=0
compare() {  # compare FILE: that output of both revisions, diffed
    if diff <(normalised "$before" "$1") <(normalised "$after" "$1") >"$same_dir/diff.txt"; then
        echo "same: $1 ($(normalised "$before" "$1" | wc -l) lines)"
    else
        echo "DIFFERENT: $1 ($(wc -l <"$same_dir/diff.txt") diff lines, first ones below)"
        head -20 "$same_dir/diff.txt"
        status=1
    fi
}
runs=(demo/run)
[ "$with_ravdess" = yes ] && runs+=(ravdess)
for run in "${runs[@]}"; do
    for file in decisions.jsonl summary.json report.md; do
        compare "$run/$file"
    done
done
[ "$with_ravdess" = yes ] && compare ravdess-predict.jsonl
exit $status
