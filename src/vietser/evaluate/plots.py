"""Report figures as PNG files: confusion matrix, risk-coverage, reliability diagram, per-speaker accuracy.

Every function draws one figure with matplotlib's non-interactive Agg
canvas (no display needed, no global backend switch), writes it to ``path``
and returns the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vietser.evaluate.calibration import reliability_bins
from vietser.labels import CLASSES

_DPI = 110


FRAME_MARGIN = 0.04
"""Room left around the data, as a share of the axis, so points on 0 or 1 are drawn whole."""
UNIT_RANGE = (-FRAME_MARGIN, 1.0 + FRAME_MARGIN)


def plot_confusion_matrix(
    confusion: np.ndarray | Sequence[Sequence[int]], path: str | Path, classes: Sequence[str] = CLASSES, title: str = ""
) -> Path:
    """Counts with true classes in rows, shaded by each row's share."""
    counts = np.asarray(confusion, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    figure, axes = _figure(4.2, 3.8)
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for (row, column), count in np.ndenumerate(counts):
        colour = "white" if shares[row, column] > 0.6 else "black"
        axes.text(column, row, f"{int(count)}", ha="center", va="center", color=colour)
    axes.set_xticks(range(len(classes)), labels=list(classes))
    axes.set_yticks(range(len(classes)), labels=list(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title or "Confusion matrix")
    figure.colorbar(image, ax=axes, label="share of true class")
    return _save(figure, path)


def plot_risk_coverage(
    coverage: np.ndarray | Sequence[float],
    risk: np.ndarray | Sequence[float],
    path: str | Path,
    *,
    aurc: float | None = None,
    operating_point: tuple[float, float] | None = None,
) -> Path:
    """Error rate among the clips kept (risk) against the share kept (coverage), most confident first."""
    figure, axes = _figure(4.8, 3.6)
    label = "risk–coverage" if aurc is None else f"risk–coverage (AURC {aurc:.3f})"
    axes.plot(np.asarray(coverage, dtype=float), np.asarray(risk, dtype=float), color="#1f5f99", label=label)
    if operating_point is not None:
        axes.scatter([operating_point[0]], [operating_point[1]], color="#c0392b", zorder=3, label="routing threshold")
    axes.set_xlim(*UNIT_RANGE)
    top = max(float(np.nanmax(np.asarray(risk, dtype=float), initial=0.0)), operating_point[1] if operating_point else 0.0)
    axes.set_ylim(-FRAME_MARGIN * max(top, 0.1), top + FRAME_MARGIN * max(top, 0.1) + 0.01)
    axes.set_xlabel("coverage (share decided by the acoustic model)")
    axes.set_ylabel("risk (error rate)")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_reliability(
    probabilities: np.ndarray, labels: Sequence[str] | np.ndarray, path: str | Path, n_bins: int = 10
) -> Path:
    """Reliability diagram: accuracy against mean top-class confidence per bin, with the diagonal."""
    bins = reliability_bins(probabilities, labels, n_bins)
    figure, axes = _figure(4.2, 4.0)
    axes.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="grey", label="perfectly calibrated")
    axes.plot(bins.confidence, bins.accuracy, marker="o", color="#1f5f99", label="model")
    for x, y, count in zip(bins.confidence, bins.accuracy, bins.count):
        axes.annotate(str(int(count)), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    axes.set_xlim(*UNIT_RANGE)
    axes.set_ylim(*UNIT_RANGE)
    axes.set_xlabel("confidence (top-class probability)")
    axes.set_ylabel("accuracy")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_per_speaker(
    speakers: Sequence[str], accuracy: Sequence[float], counts: Sequence[int], path: str | Path
) -> Path:
    """Accuracy per speaker as bars, labelled with each speaker's number of clips."""
    figure, axes = _figure(max(4.0, 0.45 * len(speakers) + 1.5), 3.6)
    positions = np.arange(len(speakers))
    bars = axes.bar(positions, np.asarray(accuracy, dtype=float), color="#1f5f99")
    for bar, count in zip(bars, counts):
        top_centre = (bar.get_x() + bar.get_width() / 2, bar.get_height())
        axes.annotate(f"n={int(count)}", top_centre, textcoords="offset points", xytext=(0, 2), ha="center", fontsize=7)
    axes.set_xticks(positions, labels=list(speakers), rotation=45, ha="right")
    axes.set_ylim(0.0, 1.08)
    axes.set_ylabel("accuracy")
    axes.set_title("Accuracy per speaker")
    return _save(figure, path)


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path
