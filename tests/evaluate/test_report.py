"""The Markdown and HTML report: files, figures and the numbers computed from decisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from tests.evaluate.test_agreement import votes_frame
from vietser.decision import Decision, Route
from vietser.evaluate.agreement import agreement_report
from vietser.evaluate.bootstrap import paired_bootstrap
from vietser.evaluate.report import ReportFiles, write_report
from vietser.evaluate.sections import ReportSection
from vietser.labels import CLASSES


def make_decisions(n: int, accuracy: float, seed: int, labelled: bool = True) -> list[Decision]:
    rng = np.random.default_rng(seed)
    decisions = []
    for i in range(n):
        truth = CLASSES[i % 3]
        acoustic = truth if rng.random() < accuracy else CLASSES[(i + 1) % 3]
        confidence = float(rng.uniform(0.4, 1.0))
        confident = confidence >= 0.7
        probabilities = np.full(3, (1 - confidence) / 2)
        probabilities[CLASSES.index(acoustic)] = confidence
        decisions.append(
            Decision(
                clip_id=f"clip{i}.wav",
                speaker=f"spk{i % 4}",
                true_label=truth if labelled else None,
                label=acoustic if confident or rng.random() < 0.5 else truth,
                probabilities=dict(zip(CLASSES, probabilities.tolist())),
                acoustic_label=acoustic,
                confidence=confidence,
                route=Route.CONFIDENT if confident else Route.DELEGATED,
                reasoner="acoustic" if confident else "llm",
                fallback=not confident and i % 7 == 0,
            )
        )
    return decisions


@pytest.fixture(scope="module")
def decisions() -> list[Decision]:
    return make_decisions(90, 0.75, seed=0)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, decisions: list[Decision]) -> ReportFiles:
    """The report of ``decisions`` with defaults, written once for the tests that only read it."""
    return write_report(tmp_path_factory.mktemp("report") / "run", decisions, title="Dev split", n_bootstrap=100)


def read_both(files: ReportFiles) -> tuple[str, str]:
    return files.markdown.read_text(encoding="utf-8"), files.html.read_text(encoding="utf-8")


def test_report_writes_markdown_html_and_png_figures(report: ReportFiles) -> None:
    run = report.markdown.parent
    assert report.markdown.name == "report.md" and report.html == run / "report.html"
    assert {path.name for path in report.figures} == {
        "confusion_matrix.png", "risk_coverage.png", "reliability.png", "per_speaker.png"
    }
    for path in report.figures:
        assert path.read_bytes()[:4] == b"\x89PNG"
    markdown, html = read_both(report)
    assert markdown.startswith("# Dev split")
    for path in report.figures:
        reference = path.relative_to(run).as_posix()
        assert f"]({reference})" in markdown and f'src="{reference}"' in html


def test_summary_numbers_match_sklearn_in_both_formats(report: ReportFiles, decisions: list[Decision]) -> None:
    truth = [d.true_label for d in decisions]
    labels = [d.label for d in decisions]
    markdown, html = read_both(report)
    for number in (f1_score(truth, labels, average="macro"), accuracy_score(truth, labels)):
        assert f"| {number:.3f} |" in markdown
        assert f"<td>{number:.3f}</td>" in html


def test_unlabelled_decisions_are_counted_but_not_scored(tmp_path: Path, decisions: list[Decision]) -> None:
    unlabelled = [d.model_copy(update={"clip_id": f"new{i}", "label": "panic"}) for i, d in enumerate(
        make_decisions(30, 0.0, seed=5, labelled=False)
    )]
    accuracy = accuracy_score([d.true_label for d in decisions], [d.label for d in decisions])
    markdown, _ = read_both(write_report(tmp_path, decisions + unlabelled, n_bootstrap=100))
    assert "120 clips, 90 with a true label" in markdown
    assert f"| accuracy | {accuracy:.3f} |" in markdown


def test_route_rows_report_share_and_accuracy_per_route(report: ReportFiles, decisions: list[Decision]) -> None:
    delegated = [d for d in decisions if d.route == Route.DELEGATED]
    accuracy = accuracy_score([d.true_label for d in delegated], [d.label for d in delegated])
    share = 100 * len(delegated) / len(decisions)
    markdown, html = read_both(report)
    assert f"| delegated | {len(delegated)} | {share:.1f}% | {accuracy:.3f} |" in markdown
    assert f"<td>delegated</td><td>{len(delegated)}</td><td>{share:.1f}%</td><td>{accuracy:.3f}</td>" in html


def test_reasoner_rows_count_fallbacks(report: ReportFiles, decisions: list[Decision]) -> None:
    llm = [d for d in decisions if d.reasoner == "llm"]
    fallbacks = sum(d.fallback for d in llm)
    markdown, _ = read_both(report)
    assert f"| llm | {len(llm)} | {100 * len(llm) / len(decisions):.1f}% | {fallbacks} |" in markdown


def test_aurc_is_the_mean_acoustic_risk_by_confidence(report: ReportFiles, decisions: list[Decision]) -> None:
    ordered = sorted(decisions, key=lambda d: -d.confidence)
    errors = np.cumsum([d.acoustic_label != d.true_label for d in ordered])
    aurc = float(np.mean(errors / np.arange(1, len(ordered) + 1)))
    markdown, html = read_both(report)
    assert f"AURC {aurc:.3f}" in markdown and f"AURC {aurc:.3f}" in html


def test_baselines_show_metrics_and_paired_delta_against_the_first(tmp_path: Path, decisions: list[Decision]) -> None:
    acoustic = [d.model_copy(update={"label": d.acoustic_label}) for d in decisions]
    weak = make_decisions(90, 0.4, seed=3)
    files = write_report(tmp_path, decisions, baselines={"acoustic only": acoustic, "weak": weak}, n_bootstrap=200)
    truth = [d.true_label for d in decisions]
    result = paired_bootstrap(truth, [d.label for d in acoustic], [d.label for d in weak], n=200, seed=0)
    markdown, html = read_both(files)
    weak_f1 = f1_score(truth, [d.label for d in weak], average="macro")
    assert "| weak | 90 |" in markdown and f"{weak_f1:.3f}" in markdown
    assert f"| {result.delta:+.3f} | [{result.lo:.3f}, {result.hi:.3f}] |" in markdown
    assert "<td>reference</td>" in html


def test_calibration_stages_and_routing_policy_are_listed(tmp_path: Path, decisions: list[Decision]) -> None:
    calibration = {"before": {"ece": 0.123, "brier": 0.456}, "after": {"ECE": 0.045, "Brier": 0.401}}
    routing = {"score": "margin", "threshold": 0.35}
    files = write_report(tmp_path, decisions, calibration=calibration, routing=routing, n_bootstrap=100)
    markdown, html = read_both(files)
    assert "| before | 0.123 | 0.456 |" in markdown and "| after | 0.045 | 0.401 |" in markdown
    assert "| threshold | 0.350 |" in markdown and "<td>margin</td>" in html


def test_agreement_section_shows_fleiss_kappa(tmp_path: Path, decisions: list[Decision]) -> None:
    agreement = agreement_report(votes_frame([["calm", "calm", "angry"], ["angry", "angry", "angry"], ["panic"] * 3]))
    markdown, html = read_both(write_report(tmp_path, decisions, agreement=agreement, n_bootstrap=100))
    assert f"| Fleiss' kappa | {agreement.fleiss_kappa:.3f} |" in markdown
    assert f"<td>Fleiss&#39; kappa</td><td>{agreement.fleiss_kappa:.3f}</td>" in html


def test_extra_sections_are_rendered_and_escaped(tmp_path: Path, decisions: list[Decision]) -> None:
    section = ReportSection(
        title="Refinement rounds",
        text="Round 2 kept.",
        columns=["round", "dev macro-F1", "note"],
        rows=[[1, 0.8123, "a | b"], [2, 0.8456, "<b>kept</b>"]],
    )
    markdown, html = read_both(write_report(tmp_path, decisions, extra_sections=[section], n_bootstrap=100))
    assert "## Refinement rounds" in markdown and "| 2 | 0.846 | <b>kept</b> |" in markdown
    assert "| 1 | 0.812 | a \\| b |" in markdown
    assert "<td>&lt;b&gt;kept&lt;/b&gt;</td>" in html


def test_report_without_true_labels_is_still_written(tmp_path: Path) -> None:
    files = write_report(tmp_path, make_decisions(12, 0.8, seed=1, labelled=False))
    markdown, _ = read_both(files)
    assert "12 clips, 0 with a true label" in markdown and "## Results by route" in markdown
    assert files.figures == []


def test_html_loads_nothing_from_the_network(report: ReportFiles, decisions: list[Decision]) -> None:
    _, html = read_both(report)
    assert "http://" not in html and "https://" not in html
    assert "<style>" in html


def test_both_formats_open_with_how_to_read_and_define_the_routing_terms(tmp_path: Path, decisions: list[Decision]) -> None:
    routing = {"score": "max_prob", "threshold": 0.6, "dev reasoner_accuracy": 0.7, "dev expected_accuracy": 0.8}

    markdown, html = read_both(write_report(tmp_path, decisions, routing=routing, n_bootstrap=100))

    assert markdown.index("How to read this report") < markdown.index("## Summary")
    assert html.index('class="how-to-read"') < html.index('id="s0-summary"')
    assert "dev reasoner_accuracy the share of all dev clips" in markdown and "dev expected_accuracy the pipeline" in html


def test_a_test_ece_above_the_uncalibrated_one_is_explained(tmp_path: Path, decisions: list[Decision]) -> None:
    calibration = {"before": {"ece": 0.001, "brier": 0.2}, "after": {"ece": 0.0005, "brier": 0.19}}

    markdown, _ = read_both(write_report(tmp_path, decisions, calibration=calibration, n_bootstrap=100))

    assert "is above 'before' (0.001)" in markdown and "does not mean calibrating made" in markdown
    assert "| decisions (reasoner's where it decided) |" in markdown


def test_the_title_names_the_run_folder_its_parent_model_and_reasoner(tmp_path: Path) -> None:
    from vietser.evaluate.sections import report_title

    title = report_title(tmp_path / "ravdess" / "run", "logreg", "rules")

    assert title == "vietser report: ravdess/run — logreg acoustic model, rules reasoner"
