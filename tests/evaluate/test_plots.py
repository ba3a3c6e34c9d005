"""Every figure is written as a readable PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.image import imread

from vietser.evaluate.plots import plot_confusion_matrix, plot_per_speaker, plot_reliability, plot_risk_coverage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _ = imread(path).shape
    assert height > 100 and width > 100


def test_confusion_matrix_is_a_png(tmp_path: Path) -> None:
    assert_png(plot_confusion_matrix([[5, 1, 0], [2, 6, 1], [0, 0, 4]], tmp_path / "figures" / "cm.png"))


def test_risk_coverage_is_a_png(tmp_path: Path) -> None:
    coverage = np.linspace(0.1, 1.0, 10)
    path = plot_risk_coverage(coverage, 0.2 * coverage, tmp_path / "rc.png", aurc=0.11, operating_point=(0.6, 0.12))
    assert_png(path)


def test_reliability_diagram_is_a_png(tmp_path: Path) -> None:
    probabilities = np.random.default_rng(0).dirichlet([1, 1, 1], size=50)
    labels = np.random.default_rng(1).choice(["calm", "angry", "panic"], size=50)
    assert_png(plot_reliability(probabilities, labels, tmp_path / "reliability.png"))


def test_per_speaker_bars_are_a_png(tmp_path: Path) -> None:
    assert_png(plot_per_speaker(["s1", "s2", "s3"], [0.9, 0.7, 0.8], [10, 12, 8], tmp_path / "speakers.png"))


def test_points_on_the_edges_of_the_unit_square_are_drawn_inside_the_frame(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from vietser.evaluate import plots

    limits: list[tuple[float, float, float, float]] = []
    save = plots._save

    def keep_limits(figure, path):  # noqa: ANN001, ANN202
        limits.append(tuple(figure.axes[0].axis()))
        return save(figure, path)

    monkeypatch.setattr(plots, "_save", keep_limits)
    plot_risk_coverage([0.0, 0.5, 1.0], [0.0, 0.1, 0.3], tmp_path / "rc.png", operating_point=(1.0, 0.3))
    certain = np.eye(3)[[0, 1, 2, 0]]
    plot_reliability(certain, ["calm", "angry", "panic", "calm"], tmp_path / "reliability.png")

    (rc_x0, rc_x1, rc_y0, rc_y1), (rel_x0, rel_x1, rel_y0, rel_y1) = limits
    assert rc_x0 < 0.0 and rc_x1 > 1.0 and rc_y0 < 0.0 and rc_y1 > 0.3
    assert rel_x0 < 0.0 and rel_x1 > 1.0 and rel_y0 < 0.0 and rel_y1 > 1.0
