"""Progress: plain flushed lines and step times without a terminal, nothing with --quiet."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.conftest import ToneWriter
from vietser.cli import app, console

runner = CliRunner()


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Progress into a file-like log, as when stderr is redirected."""
    text = io.StringIO()
    monkeypatch.setattr(console, "progress_console", Console(file=text, force_terminal=False, width=200))
    return text


def test_without_a_terminal_progress_is_plain_lines_then_the_steps_time(log: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "PLAIN_EVERY_S", 0.0)

    with console.progress_bar("features") as progress:
        for done in range(1, 4):
            progress(done, 3)

    lines = log.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == ["features: 1/3 (33%)", "features: 2/3 (67%)", "features: 3/3 (100%)"]
    assert lines[3].startswith("✓ features (") and lines[3].endswith(" s)")


def test_plain_lines_are_spaced_in_time_but_the_last_always_comes(log: io.StringIO) -> None:
    with console.progress_bar("predict") as progress:
        for done in range(1, 101):
            progress(done, 100)

    assert [line for line in log.getvalue().splitlines() if line.startswith("predict:")] == [
        line for line in log.getvalue().splitlines() if "100/100" in line
    ]


def test_a_step_says_what_it_does_before_and_its_time_after(log: io.StringIO) -> None:
    with console.step("training"):
        log.write("inside\n")

    assert log.getvalue().splitlines()[0] == "training …"
    assert log.getvalue().splitlines()[1] == "inside"
    assert log.getvalue().splitlines()[2].startswith("✓ training (")


def test_a_failed_step_claims_no_time(log: io.StringIO) -> None:
    with pytest.raises(RuntimeError), console.step("training"):
        raise RuntimeError("boom")

    assert "✓" not in log.getvalue()


@pytest.mark.parametrize("seconds, text", [(4.24, "4.2 s"), (185.0, "3 min 05 s")])
def test_durations_read_as_seconds_or_minutes(seconds: float, text: str) -> None:
    assert console.format_seconds(seconds) == text


def test_quiet_leaves_results_and_drops_progress(tmp_path: Path, write_tone: ToneWriter) -> None:
    rows = [
        {"path": write_tone(f"c{i}.wav", f0=170 + 20 * i, duration_s=0.5, seed=i).name, "label": "calm", "speaker": f"s{i}", "split": "train"}
        for i in range(2)
    ]
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)

    loud = runner.invoke(app, ["features", str(manifest), "-o", str(tmp_path / "a.parquet")])
    quiet = runner.invoke(app, ["--quiet", "features", str(manifest), "-o", str(tmp_path / "b.parquet")])

    assert loud.exit_code == quiet.exit_code == 0, loud.output + quiet.output
    assert "✓ features" in loud.output and "features: 2/2" in loud.output
    assert "features" in quiet.output and "✓" not in quiet.output and "2/2" not in quiet.output
