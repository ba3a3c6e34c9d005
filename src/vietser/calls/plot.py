"""A call's timeline as a PNG: one row per speaker, each segment coloured by its label."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the file backend
from matplotlib.patches import Patch  # noqa: E402

from vietser.calls.call import CallResult  # noqa: E402

COLOURS = {"calm": "#4c9f70", "angry": "#d1495b", "panic": "#edae49"}
OTHER = "#999999"


def plot_timeline(result: CallResult, path: Path) -> Path:
    """Draw the call: segments as bars (opacity = confidence, hatched when delegated); returns ``path``."""
    speakers = [s.channel for s in result.summary.speakers]
    figure, axis = plt.subplots(figsize=(12, 1.0 + 0.7 * len(speakers)))
    for row, speaker in enumerate(speakers):
        for d in (d for d in result.decisions if d.channel == speaker):
            axis.broken_barh(
                [(d.start_s or 0.0, (d.end_s or 0.0) - (d.start_s or 0.0))],
                (row - 0.35, 0.7),
                facecolors=COLOURS.get(d.label, OTHER),
                alpha=0.35 + 0.65 * d.confidence,
                hatch="//" if d.route.value == "delegated" else None,
                edgecolor="black" if d.out_of_domain else "none",
            )
    axis.set_yticks(range(len(speakers)), speakers)
    axis.set_xlim(0, max(result.summary.duration_s, 1.0))
    axis.set_ylim(-0.6, len(speakers) - 0.4)
    axis.set_xlabel("time in call (s)")
    axis.set_title(
        f"{result.summary.call_id} — " + ("; ".join(result.summary.notes) or "segments by label"), fontsize=9
    )
    axis.legend(
        handles=[Patch(color=c, label=label) for label, c in COLOURS.items()],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
