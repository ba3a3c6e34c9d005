"""The call page: segment decisions of `predict --segments` in the review app, a timeline, segment audio,
corrections through the review store."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.review.conftest import LOOPBACK_URL, RATE, measure_predictor, write_call
from vietser.cli import app as cli
from vietser.data.audio import load_audio
from vietser.data.manifest import load_manifest
from vietser.errors import ConfigError
from vietser.review import ReviewStore, create_app
from vietser.review.export import export_manifest
from vietser.review.rundir import load_run

@pytest.fixture
def call_files(tmp_path: Path) -> tuple[Path, Path]:
    return write_call(tmp_path)


@pytest.fixture
def call_client(review_run: Path, call_files: tuple[Path, Path]) -> TestClient:
    app = create_app(review_run, calls=[call_files[1]], predictor=measure_predictor)
    with TestClient(app, base_url=LOOPBACK_URL) as client:
        yield client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_timeline_has_each_channel_in_channel_order_with_its_segments_in_time_order(call_client: TestClient) -> None:
    assert call_client.get("/api/calls").json() == ["call-1"]

    timeline = call_client.get("/api/calls/call-1").json()

    assert [c["channel"] for c in timeline["channels"]] == ["agent", "caller"]
    caller = timeline["channels"][1]["segments"]
    assert [(s["start_s"], s["label"], s["delegated"], s["out_of_domain"]) for s in caller] == [
        (2.0, "panic", True, False),
        (3.5, "angry", True, True),
    ]
    assert timeline["has_audio"] and timeline["duration_s"] == 5.0


def test_the_call_page_draws_segments_by_class_and_marks_delegated_and_out_of_domain_ones(call_client: TestClient) -> None:
    html = call_client.get("/calls/call-1").text

    assert html.count('<a class="segment"') == 3
    assert '<rect class="label-calm" x="0.5"' in html
    assert '<rect class="label-panic delegated" x="2.0"' in html
    assert '<rect class="ood" x="3.5"' in html and html.count('class="ood"') == 1
    assert f'data-audio="/audio/{quote("call-1/caller/00002.000", safe="")}"' in html
    assert "<td>delegated, out of domain</td>" in html
    assert 'href="/calls/call-1"' in call_client.get("/").text
    segment_page = call_client.get(f"/clips/{quote('call-1/caller/00003.500', safe='')}").text
    assert 'segment 3.50–4.50 s of caller in call <a href="/calls/call-1">' in segment_page


def test_a_segment_plays_its_own_channel_from_start_to_end(call_client: TestClient, call_files: tuple[Path, Path]) -> None:
    response = call_client.get(f"/audio/{quote('call-1/caller/00002.000', safe='')}")

    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    samples, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    whole, _ = sf.read(call_files[0], dtype="int16")
    assert (rate, samples.shape) == (RATE, (RATE,))
    np.testing.assert_array_equal(samples, whole[2 * RATE : 3 * RATE, 1])
    assert np.abs(samples).max() > 1000


def test_a_correction_from_the_call_page_is_a_review_of_the_segment(call_client: TestClient, review_run: Path) -> None:
    csrf = _csrf(call_client.get("/calls/call-1").text)
    clip_id = "call-1/caller/00003.500"

    response = call_client.post(
        "/calls/call-1/review",
        data={"clip_id": clip_id, "label": "calm", "reviewer": "carol", "note": "she laughs", "csrf_token": csrf},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/calls/call-1#{quote(clip_id, safe='')}"
    [review] = ReviewStore(review_run / "reviews.sqlite").reviews()
    assert (review.clip_id, review.label, review.previous_label, review.reviewer) == (clip_id, "calm", "angry", "carol")
    segment = call_client.get("/api/calls/call-1").json()["channels"][1]["segments"][1]
    assert (segment["reviewed_label"], segment["reviewer"]) == ("calm", "carol")
    assert '<rect class="reviewed" x="3.5"' in call_client.get("/calls/call-1").text


def test_a_correction_names_a_segment_of_that_call(call_client: TestClient) -> None:
    csrf = _csrf(call_client.get("/calls/call-1").text)
    form = {"clip_id": "clips/a.wav", "label": "calm", "reviewer": "carol", "csrf_token": csrf}

    assert call_client.post("/calls/call-1/review", data=form).status_code == 404
    assert call_client.post("/calls/call-1/review", data={**form, "csrf_token": ""}).status_code == 403
    assert call_client.get("/calls/other").status_code == 404


def test_segments_join_the_queue_but_not_the_manifest_export(review_run: Path, call_files: tuple[Path, Path]) -> None:
    run = load_run(review_run, [call_files[1]])
    store = ReviewStore(review_run / "reviews.sqlite")
    store.add_review("call-1/caller/00002.000", "carol", "angry", "", "panic")
    store.add_review("clips/a.wav", "carol", "angry", "", "angry")

    frame = export_manifest(run, store.reviews())

    assert len(frame) == 4 and not frame["path"].str.contains("call-1").any()
    assert frame.loc[frame["path"] == "clips/a.wav", "annotator_carol"].item() == "angry"
    with TestClient(create_app(review_run, calls=[call_files[1]]), base_url=LOOPBACK_URL) as client:
        queued = {item["clip_id"] for item in client.get("/api/queue").json()["items"]}
    assert {"call-1/caller/00002.000", "call-1/caller/00003.500"} <= queued


def test_a_recording_that_moved_is_reported_on_the_page_and_its_audio_is_404(
    review_run: Path, call_files: tuple[Path, Path]
) -> None:
    call_files[0].unlink()
    with TestClient(create_app(review_run, calls=[call_files[1]]), base_url=LOOPBACK_URL) as client:
        assert "segments cannot be played" in client.get("/calls/call-1").text
        assert client.get(f"/audio/{quote('call-1/agent/00000.500', safe='')}").status_code == 404


def test_a_relative_recording_path_is_found_next_to_the_listing(
    review_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "calls"
    folder.mkdir()
    _, lines = write_call(folder)
    relative = lines.read_text(encoding="utf-8").replace(str(folder) + "/", "")
    lines.write_text(relative, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    run = load_run(review_run, [lines])

    assert run.calls["call-1"].audio == (folder / "call-1.wav").resolve()


def test_unusable_calls_files_say_what_to_give(review_run: Path, tmp_path: Path, call_files: tuple[Path, Path]) -> None:
    lines = call_files[1].read_text(encoding="utf-8").splitlines()
    clip = json.loads((review_run / "decisions.jsonl").read_text(encoding="utf-8").splitlines()[0])
    cases = {
        "clip.jsonl": (json.dumps(clip), "a clip's Decision, not a segment"),
        "no-summary.jsonl": ("\n".join(lines[:-1]), "has no call_summary line"),
        "broken.jsonl": (lines[0][:40], "not a line of `vietser predict --segments` output"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_run(review_run, [tmp_path / name])
    with pytest.raises(ConfigError, match="also in another --calls file"):
        load_run(review_run, [call_files[1], call_files[1]])
    with pytest.raises(ConfigError, match="not found: write it with `vietser predict"):
        load_run(review_run, [tmp_path / "missing.jsonl"])


def test_a_two_channel_call_from_vietser_predict_segments_gets_a_timeline_per_speaker(
    trained_run: Path, small_demo: Path, tmp_path: Path
) -> None:
    test = load_manifest(small_demo).query("split == 'test'").head(6)
    clips = [load_audio(path).samples for path in test["path"]]
    pause = np.zeros(16_000, dtype=np.float32)
    agent = np.concatenate([pause, *(part for clip in clips[:3] for part in (clip, pause, pause))])
    caller = np.concatenate([pause, pause, *(part for clip in clips[3:] for part in (pause, clip, pause))])
    length = max(len(agent), len(caller))
    stereo = np.stack([np.pad(agent, (0, length - len(agent))), np.pad(caller, (0, length - len(caller)))], axis=1)
    floor = 1e-3 * np.random.default_rng(0).standard_normal(stereo.shape)
    sf.write(tmp_path / "call.wav", stereo + floor, 16_000)
    out = tmp_path / "call.jsonl"
    arguments = ["predict", str(tmp_path / "call.wav"), "--run", str(trained_run), "--segments", "-o", str(out)]
    result = CliRunner().invoke(cli, [*arguments, "--channel-names", "agent,caller"])
    assert result.exit_code == 0, result.output
    run = shutil.copytree(trained_run, tmp_path / "run")

    with TestClient(create_app(run, calls=[out]), base_url=LOOPBACK_URL) as client:
        timeline = client.get("/api/calls/call").json()
        first = timeline["channels"][1]["segments"][0]
        audio = client.get(f"/audio/{quote(first['clip_id'], safe='')}")
        page = client.get("/calls/call").text

    assert [(c["channel"], len(c["segments"]) >= 2) for c in timeline["channels"]] == [("agent", True), ("caller", True)]
    assert all(s["start_s"] < s["end_s"] <= timeline["duration_s"] for c in timeline["channels"] for s in c["segments"])
    samples, rate = sf.read(io.BytesIO(audio.content))
    assert rate == 16_000 and len(samples) == pytest.approx((first["end_s"] - first["start_s"]) * rate, abs=2)
    assert page.count('<a class="segment"') == sum(len(c["segments"]) for c in timeline["channels"])


def test_vietser_review_reads_the_calls_it_is_given_before_serving(review_run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["review", str(review_run), "--calls", str(tmp_path / "missing.jsonl")])

    assert result.exit_code == 2
    assert "missing.jsonl not found: write it with `vietser predict" in " ".join(result.output.split())
