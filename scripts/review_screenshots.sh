#!/usr/bin/env bash
# The README's screenshots of the review app: its queue page and a call page, in headless Chromium.
#
#   scripts/review_screenshots.sh [RUN_DIR]
#
# Without RUN_DIR it runs `vietser demo` (seed 0) under $SHOTS_DIR (default /tmp/vietser-shots) and uses
# its run. The run is copied there (the review app writes reviews.sqlite beside the decisions), a
# two-channel call is built from six of its test clips (agent on the left, caller on the right, 8 kHz),
# decided with `vietser predict --segments`, and `vietser review --calls` serves both on a free loopback
# port. Writes docs/img/review-queue.png and docs/img/review-call.png (the call page with its first
# delegated segment picked) and fails if either is 300 KB or more.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
vietser="$repo/.venv/bin/vietser"
python="$repo/.venv/bin/python"
chromium=${CHROMIUM:-/usr/bin/chromium}
work=${SHOTS_DIR:-/tmp/vietser-shots}
mkdir -p "$work" "$repo/docs/img"

if [ $# -ge 1 ]; then
    source_run=$1
else
    [ -f "$work/demo/run/decisions.jsonl" ] || "$vietser" demo --out "$work/demo" --seed 0
    source_run="$work/demo/run"
fi
rm -rf "$work/run"
cp -r "$source_run" "$work/run"
rm -f "$work/run/reviews.sqlite"*

"$python" - "$work/run/manifest.csv" "$work/demo-call.wav" <<'EOF'
import sys

import numpy as np
import pandas as pd
import soundfile as sf
import soxr

from vietser.data.audio import load_audio

manifest, out = pd.read_csv(sys.argv[1]), sys.argv[2]
test = manifest[manifest["split"] == "test"]
speakers = sorted(test["speaker"].unique())
rate, pause = 16_000, np.zeros(16_000, dtype=np.float32)
lanes = []
for turn, speaker in enumerate((speakers[0], speakers[-1])):
    clips = [load_audio(p).samples for p in test[test["speaker"] == speaker]["path"].head(3)]
    parts = [pause] * (1 + 2 * turn)
    for clip in clips:
        parts += [clip, pause, pause, pause]
    lanes.append(np.concatenate(parts))
length = max(len(lane) for lane in lanes)
stereo = np.stack([np.pad(lane, (0, length - len(lane))) for lane in lanes], axis=1)
stereo += 1e-3 * np.random.default_rng(0).standard_normal(stereo.shape).astype(np.float32)
sf.write(out, soxr.resample(stereo, rate, 8_000), 8_000, subtype="PCM_16")
EOF
"$vietser" predict "$work/demo-call.wav" --run "$work/run" --segments --channel-names agent,caller -o "$work/demo-call.jsonl"
picked=$("$python" -c '
import json, sys
from urllib.parse import quote
lines = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
segments = [d for d in lines if d.get("call_id") and "route" in d]
chosen = next((d for d in segments if d["route"] == "delegated"), segments[0])
print(quote(chosen["clip_id"], safe=""))' "$work/demo-call.jsonl")

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$vietser" review "$work/run" --calls "$work/demo-call.jsonl" --port "$port" >"$work/review.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.2
done

shoot() {  # URL, PNG, height
    "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --virtual-time-budget=3000 --window-size="1200,$3" --screenshot="$2" "$1" 2>>"$work/chromium.log"
}
shoot "http://127.0.0.1:$port/" "$repo/docs/img/review-queue.png" 900
shoot "http://127.0.0.1:$port/calls/demo-call#$picked" "$repo/docs/img/review-call.png" 1100

for png in "$repo/docs/img/review-queue.png" "$repo/docs/img/review-call.png"; do
    size=$(stat -c %s "$png")
    echo "$png: $((size / 1024)) KB"
    [ "$size" -lt 307200 ] || { echo "$png is 300 KB or more" >&2; exit 1; }
done
