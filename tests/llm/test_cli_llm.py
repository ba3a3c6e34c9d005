"""LLM options on the command line: merged settings, the usage table, --llm local's checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from vietser.cli import app
from vietser.testing.scripted_server import ScriptedOpenAIServer, fixed_label_policy, http_error


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


def test_evaluate_with_llm_options_prints_the_usage_table(trained_run: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("VIETSER_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = _copy(trained_run, tmp_path)
    with ScriptedOpenAIServer([http_error(400)], policy=fixed_label_policy("calm")) as server:
        result = CliRunner().invoke(
            app,
            ["evaluate", str(run_dir), "--llm-base-url", server.base_url, "--llm-model", "m",
             "--llm-timeout", "7", "--llm-concurrency", "1", "--llm-max-tokens", "200"],
        )
        bodies = server.requests
    assert result.exit_code == 0, result.output
    assert "LLM usage (json_object structured output)" in result.output
    assert {body["max_tokens"] for body in bodies} == {200}
    usage = json.loads((run_dir / "summary.json").read_text())["llm_usage"]
    assert usage["fallbacks"] == 0 and usage["requests"] == len(bodies) - 1


def test_many_fallbacks_are_warned_about_loudly(trained_run: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("VIETSER_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = _copy(trained_run, tmp_path)
    with ScriptedOpenAIServer([http_error(500)] * 10_000) as server:
        result = CliRunner().invoke(
            app, ["evaluate", str(run_dir), "--llm-base-url", server.base_url, "--llm-model", "m", "--llm-retries", "0"]
        )
    assert result.exit_code == 0, result.output
    assert "100% of the LLM answers were unusable" in result.output
    assert "fallback: http 500" in result.output


def test_llm_local_without_a_gguf_says_what_to_add(trained_run: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", str(trained_run), "--llm", "local"])
    assert result.exit_code != 0
    assert "--llm-gguf" in result.output


def test_llm_local_with_a_missing_gguf_names_it(trained_run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", str(trained_run), "--llm", "local", "--llm-gguf", str(tmp_path / "x.gguf")])
    assert result.exit_code != 0
    assert "x.gguf" in result.output and "not found" in result.output


def test_an_unknown_llm_backend_is_refused(trained_run: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", str(trained_run), "--llm", "cloud"])
    assert result.exit_code != 0
    assert "--llm local" in result.output


def test_the_local_server_ends_with_the_process_that_started_it(llama_server) -> None:  # noqa: ANN001
    import os
    import signal
    import subprocess
    import sys
    import time

    code = (
        "import sys, time\nfrom pathlib import Path\nfrom vietser.llm.local_server import LlamaServer\n"
        "s = LlamaServer(Path(sys.argv[1]), context=1024).start()\nprint(s._process.pid, flush=True)\ntime.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code, str(llama_server.gguf)], stdout=subprocess.PIPE, text=True)
    server_pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{server_pid}").exists():
        state = Path(f"/proc/{server_pid}/status").read_text().split("State:")[1].split()[0]
        if state == "Z":
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{server_pid}").exists() or state == "Z"
