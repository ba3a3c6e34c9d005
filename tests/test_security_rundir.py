"""A run directory is data: loading one never executes code, and its trusted files are checked.

The attacker here can write the run directory (a shared or downloaded run): they
point config.json at a Jinja2 template that runs a shell command, and rewrite
checksums.json so the edit itself is not what stops them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from jinja2.sandbox import ImmutableSandboxedEnvironment
from typer.testing import CliRunner

from vietser.cli import app
from vietser.decision import ClipEvidence
from vietser.errors import ConfigError, TamperedRunError
from vietser.evaluate import report
from vietser.run.evaluate import evaluate_run
from vietser.llm.client import LLMConfig, PromptTemplates
from vietser.run.predict import load_predictor
from vietser.reasoning import ReasoningRequest
from vietser.run.refine import rollback_run
from vietser.refine import RulebookHistory
from vietser.review import create_app, pages
from vietser.rules.rulebook import load_rulebook
from vietser.run.dir import CHECKSUMS_FILE, CONFIG_FILE, RULEBOOK_FILE
from vietser.templating import render, sandboxed_environment

runner = CliRunner()
NO_SERVER = "http://127.0.0.1:9/v1"  # never contacted: templates render when the reasoner is built
REVIEW_URL = "http://127.0.0.1:8765"


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """The file the payload creates if it ever runs."""
    return tmp_path / "pwned"


@pytest.fixture
def evil_template(tmp_path: Path, marker: Path) -> Path:
    template = tmp_path / "evil.md.j2"
    template.write_text(f"{{{{ cycler.__init__.__globals__.os.system('touch ' ~ '{marker}') }}}}\n", encoding="utf-8")
    return template


@pytest.fixture
def run(trained_run: Path, tmp_path: Path) -> Path:
    """A copy of the session's trained and evaluated run, free to edit."""
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    return copy


def forge_checksum(run_dir: Path, name: str) -> None:
    """What someone who can write the run directory does after editing ``name``: record its new hash."""
    path = run_dir / CHECKSUMS_FILE
    checksums = json.loads(path.read_text(encoding="utf-8"))
    checksums["sha256"][name] = hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
    path.write_text(json.dumps(checksums), encoding="utf-8")


def name_template_in_config(run_dir: Path, template: Path, field: str = "system_template") -> None:
    config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    config["llm"] = {"base_url": NO_SERVER, "model": "any", field: str(template)}
    (run_dir / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    forge_checksum(run_dir, CONFIG_FILE)


def demo_clip(small_demo: Path) -> Path:
    manifest = pd.read_csv(small_demo)
    return small_demo.parent / manifest.loc[manifest["split"] == "test", "path"].iloc[0]


def flat(output: str) -> str:
    """CLI output without the line breaks and spaces the console wraps long paths with."""
    return "".join(output.split())


# --- a template named by a run's config is not used -------------------------------------------


@pytest.mark.parametrize("field", ["system_template", "prompt_template"])
def test_predictor_refuses_a_template_named_only_by_the_run(run: Path, evil_template: Path, marker: Path, field: str) -> None:
    name_template_in_config(run, evil_template, field)

    with pytest.raises(ConfigError, match=f"llm.{field}") as error:
        load_predictor(run)

    assert not marker.exists()
    assert f"--llm-{field.replace('_', '-')}" in str(error.value) and str(evil_template) in str(error.value)


def test_cli_predict_refuses_a_template_named_only_by_the_run(
    run: Path, evil_template: Path, marker: Path, small_demo: Path
) -> None:
    name_template_in_config(run, evil_template)

    result = runner.invoke(app, ["predict", str(demo_clip(small_demo)), "--run", str(run)])

    assert result.exit_code == 2, result.output
    assert not marker.exists()
    assert "--llm-system-template" in flat(result.output)


def test_evaluate_refuses_a_template_named_only_by_the_run(run: Path, evil_template: Path, marker: Path) -> None:
    name_template_in_config(run, evil_template)

    with pytest.raises(ConfigError, match="llm.system_template"):
        evaluate_run(run)
    cli = runner.invoke(app, ["evaluate", str(run)])

    assert cli.exit_code == 2, cli.output
    assert not marker.exists()


def test_review_predict_endpoint_refuses_a_template_named_only_by_the_run(
    run: Path, evil_template: Path, marker: Path, small_demo: Path
) -> None:
    name_template_in_config(run, evil_template)
    client = TestClient(create_app(run), base_url=REVIEW_URL)

    response = client.post("/api/predict", files={"file": ("call.wav", demo_clip(small_demo).read_bytes(), "audio/wav")})

    assert response.status_code == 503, response.text
    assert not marker.exists()
    assert "--llm-system-template" in response.json()["detail"]


def test_a_template_the_call_passes_again_is_used(run: Path, tmp_path: Path) -> None:
    template = tmp_path / "system.md.j2"
    template.write_text("Labels: {{ label_names | join(', ') }}.", encoding="utf-8")
    name_template_in_config(run, template)
    probe = ReasoningRequest(
        evidence=ClipEvidence(clip_id="probe", values={}, z={}), probabilities={"calm": 1.0}, transcript=None
    )

    predictor = load_predictor(run, templates=PromptTemplates(system_template=template))

    assert predictor.reasoner.messages(probe)[0]["content"] == "Labels: calm, angry, panic.\n"


def test_a_template_without_an_llm_is_refused(trained_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no LLM"):
        load_predictor(trained_run, templates=PromptTemplates(prompt_template=tmp_path / "user.md.j2"))


# --- a template given explicitly is sandboxed ---------------------------------------------------


@pytest.mark.parametrize("field", ["system_template", "prompt_template"])
def test_an_explicit_malicious_template_cannot_execute(
    trained_run: Path, evil_template: Path, marker: Path, field: str
) -> None:
    llm = LLMConfig(base_url=NO_SERVER, model="any", **{field: evil_template})

    with pytest.raises(ConfigError, match="tried unsafe access") as error:
        load_predictor(trained_run, llm)

    assert not marker.exists()
    assert str(evil_template) in str(error.value)


def test_cli_predict_with_a_malicious_template_on_the_command_line_cannot_execute(
    trained_run: Path, evil_template: Path, marker: Path, small_demo: Path
) -> None:
    command = ["predict", str(demo_clip(small_demo)), "--run", str(trained_run), "--llm-base-url", NO_SERVER]
    command += ["--llm-model", "any", "--llm-system-template", str(evil_template)]

    result = runner.invoke(app, command)

    assert result.exit_code == 2, result.output
    assert not marker.exists()
    assert "triedunsafeaccess" in flat(result.output)


def test_render_turns_a_sandbox_violation_into_a_config_error(evil_template: Path, marker: Path) -> None:
    template = sandboxed_environment().from_string(evil_template.read_text(encoding="utf-8"))

    with pytest.raises(ConfigError, match="evil.md.j2 tried unsafe access"):
        render(template, {}, evil_template.name)

    assert not marker.exists()


def test_every_packaged_template_environment_is_sandboxed() -> None:
    assert isinstance(pages._TEMPLATES, ImmutableSandboxedEnvironment)
    assert isinstance(report._environment(autoescape=True), ImmutableSandboxedEnvironment)


# --- trusted files are as vietser wrote them ----------------------------------------------------


def test_an_edited_config_is_refused_naming_the_file(run: Path, small_demo: Path) -> None:
    config = json.loads((run / CONFIG_FILE).read_text(encoding="utf-8"))
    (run / CONFIG_FILE).write_text(json.dumps({**config, "evidence_cues": 3}), encoding="utf-8")

    with pytest.raises(TamperedRunError, match=r"config\.json changed after vietser wrote it"):
        load_predictor(run)
    with pytest.raises(TamperedRunError, match=r"config\.json.*vietser train"):
        evaluate_run(run)
    cli = runner.invoke(app, ["predict", str(demo_clip(small_demo)), "--run", str(run)])
    assert cli.exit_code == 2 and "config.json" in flat(cli.output)


def test_an_edited_rulebook_is_refused_naming_the_file_and_its_writers(run: Path) -> None:
    with (run / RULEBOOK_FILE).open("a", encoding="utf-8") as rulebook:
        rulebook.write("# edited by hand\n")

    with pytest.raises(TamperedRunError, match=r"rulebook\.yaml changed.*vietser refine"):
        load_predictor(run)
    with pytest.raises(TamperedRunError, match=r"rulebook\.yaml"):
        evaluate_run(run)


def test_a_swapped_final_model_sidecar_is_refused(run: Path) -> None:
    sidecar = run / "final-model" / "model.json"
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace('"classes"', '"classes" ', 1), encoding="utf-8")

    with pytest.raises(TamperedRunError, match=r"final-model/model\.json"):
        load_predictor(run)


def test_a_run_without_checksums_says_to_remake_it(run: Path) -> None:
    (run / CHECKSUMS_FILE).unlink()

    with pytest.raises(TamperedRunError, match=r"no checksums\.json.*vietser train"):
        load_predictor(run)


def test_a_rollback_rewrites_the_rulebook_as_trusted(run: Path) -> None:
    history = RulebookHistory(run)
    first = history.record(load_rulebook(run / RULEBOOK_FILE), note="as trained")
    history.record(first.model_copy(update={"rules": first.rules[1:]}), note="one rule fewer")

    rollback_run(run, first.version)
    predictor = load_predictor(run)

    assert predictor.reasoner.rulebook.rules == first.rules
