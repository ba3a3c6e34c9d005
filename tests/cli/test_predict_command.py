"""`vietser predict` on folders holding entries it cannot decide: every one is listed, and the exit status says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from tests.conftest import ToneWriter
from vietser.cli import app

runner = CliRunner()


def _predict(target: Path, run_dir: Path, out: Path):  # noqa: ANN202 - click Result
    return runner.invoke(app, ["predict", str(target), "--run", str(run_dir), "-o", str(out)])


def _said(text: str, result) -> bool:  # noqa: ANN001 - click Result
    """Whether the command printed ``text``, however Rich wrapped it (long paths break anywhere)."""
    return "".join(text.split()) in "".join(result.output.split())


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _write_bad_entries(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dangling.wav").symlink_to(folder / "gone.wav")
    (folder / "loop.wav").symlink_to(folder / "loop.wav")
    (folder / "x.wav").mkdir()
    (folder / "corrupt.wav").write_bytes(np.random.default_rng(0).bytes(8000))


def test_predict_decides_the_good_file_and_lists_each_bad_entry(
    trained_run: Path, tmp_path: Path, write_tone: ToneWriter
) -> None:
    folder = tmp_path / "batch"
    _write_bad_entries(folder)
    good = write_tone("batch/good.wav", duration_s=1.5)
    out = tmp_path / "predictions.jsonl"

    result = _predict(folder, trained_run, out)

    assert result.exit_code == 0, result.output
    lines = _lines(out)
    assert [line["path"] for line in lines if not line.get("skipped")] == [str(good.resolve())]
    skipped = {Path(line["path"]).name: line["reason"] for line in lines if line.get("skipped")}
    assert set(skipped) == {"corrupt.wav", "dangling.wav", "loop.wav", "x.wav"}
    assert "corrupt" in skipped["corrupt.wav"] and "broken symbolic link" in skipped["dangling.wav"]
    assert skipped["loop.wav"] == "symbolic link loop" and "folder" in skipped["x.wav"]
    assert all(set(line) == {"path", "skipped", "reason"} for line in lines if line.get("skipped"))
    assert _said("decided 1, skipped 4", result)
    for name in skipped:
        assert _said(f"{name}: {skipped[name]}", result)


def test_predict_exits_1_when_nothing_could_be_decided(trained_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    _write_bad_entries(folder)
    out = tmp_path / "predictions.jsonl"

    result = _predict(folder, trained_run, out)

    assert result.exit_code == 1, result.output
    assert _said("decided 0, skipped 4", result) and _said("could be decided", result)
    assert len(_lines(out)) == 4 and all(line["skipped"] for line in _lines(out))


def test_predict_of_a_single_corrupt_file_exits_1(trained_run: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(np.random.default_rng(1).bytes(8000))
    out = tmp_path / "predictions.jsonl"

    result = _predict(corrupt, trained_run, out)

    assert result.exit_code == 1, result.output
    assert _lines(out) == [{"path": str(corrupt.resolve()), "skipped": True, "reason": _lines(out)[0]["reason"]}]
    assert "corrupt" in _lines(out)[0]["reason"]


def test_predict_help_documents_the_exit_status() -> None:
    result = runner.invoke(app, ["predict", "--help"])

    assert result.exit_code == 0
    assert _said("Exit status", result) and _said("1 when none could be", result)


def _decisions(out: Path) -> list[dict]:
    return [line for line in _lines(out) if not line.get("skipped")]


def test_priors_and_a_reference_change_how_files_are_read(
    trained_run: Path, tmp_path: Path, write_tone: ToneWriter
) -> None:
    for i in range(3):
        write_tone(f"calls/call{i}.wav", f0=180 + 30 * i, duration_s=1.5, seed=i)
        write_tone(f"ref/ordinary{i}.wav", f0=150 + 10 * i, duration_s=1.5, seed=10 + i)
    plain, calm, referenced = tmp_path / "plain.jsonl", tmp_path / "calm.jsonl", tmp_path / "ref.jsonl"
    calls = str(tmp_path / "calls")

    assert _predict(tmp_path / "calls", trained_run, plain).exit_code == 0
    result = runner.invoke(app, ["predict", calls, "--run", str(trained_run), "-o", str(calm), "--priors", "calm=0.98"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["predict", calls, "--run", str(trained_run), "-o", str(referenced), "--reference", str(tmp_path / "ref")]
    )
    assert result.exit_code == 0, result.output

    for before, after in zip(_decisions(plain), _decisions(calm)):
        assert after["probabilities"]["calm"] >= before["probabilities"]["calm"]
    # alone and against the reference the companion reads each file, but against the reference its
    # features are first moved so that the reference lands on the calm training clips
    assert all(a["ood_score"] != b["ood_score"] for a, b in zip(_decisions(plain), _decisions(referenced)))
    cues = [cue for decision in _decisions(referenced) for cue in decision["evidence"]]
    assert cues and all("reference recordings" in cue["text_en"] for cue in cues)
    assert all(isinstance(d["ood_score"], float) and isinstance(d["out_of_domain"], bool) for d in _decisions(plain))


def test_bad_priors_are_refused_with_the_classes_named(trained_run: Path, tmp_path: Path, write_tone: ToneWriter) -> None:
    write_tone("one.wav", duration_s=1.5)
    result = runner.invoke(
        app, ["predict", str(tmp_path / "one.wav"), "--run", str(trained_run), "--priors", "happy=0.5"]
    )
    assert result.exit_code == 2
    assert _said("calm, angry, panic", result)


def test_a_reference_with_too_few_usable_recordings_names_the_folder_and_the_file_skipped(
    trained_run: Path, tmp_path: Path, write_tone: ToneWriter
) -> None:
    write_tone("call.wav", duration_s=1.5)
    write_tone("ref/ordinary.wav", duration_s=1.5)
    (tmp_path / "ref" / "broken.wav").write_bytes(b"not audio")

    result = runner.invoke(
        app, ["predict", str(tmp_path / "call.wav"), "--run", str(trained_run), "--reference", str(tmp_path / "ref")]
    )

    assert result.exit_code != 0
    said = " ".join(result.output.split())
    assert "gives 1 usable recording(s)" in said and "broken.wav" in said and "at least 2" in said


def test_files_read_without_a_baseline_of_their_speaker_get_a_note_saying_what_to_do(
    trained_run: Path, tmp_path: Path, write_tone: ToneWriter
) -> None:
    for i in range(5):
        write_tone(f"speaker/clip{i}.wav", f0=160 + 10 * i, duration_s=1.5, seed=i)
    folder = tmp_path / "speaker"

    alone = _predict(folder, trained_run, tmp_path / "alone.jsonl")
    together = runner.invoke(
        app, ["predict", str(folder), "--run", str(trained_run), "-o", str(tmp_path / "t.jsonl"), "--speaker-from", "folder"]
    )

    assert alone.exit_code == 0 and together.exit_code == 0, alone.output + together.output
    assert _said("5 of 5 files were read without a baseline of their speaker", alone)
    assert _said("--speaker-from folder", alone) and _said("--reference DIR", alone)
    assert not _said("without a baseline", together)
