"""`vietser --version` and `vietser config`: what a newcomer can discover from the command line."""

from __future__ import annotations

import re
import tomllib

from typer.testing import CliRunner

from vietser import __version__
from vietser.acoustic import AcousticConfig
from vietser.cli import app
from vietser.config import RunConfig
from vietser.llm.client import LLMConfig
from vietser.routing import TargetRisk

runner = CliRunner()


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.output.strip() == f"vietser {__version__}"


def test_config_prints_toml_that_loads_back_as_the_defaults() -> None:
    result = runner.invoke(app, ["config"])

    assert result.exit_code == 0, result.output
    assert RunConfig.model_validate(tomllib.loads(result.output)) == RunConfig()


def test_config_names_every_option_with_a_line_of_help_above_it() -> None:
    lines = runner.invoke(app, ["config"]).output.splitlines()

    settings = {m.group(1): i for i, line in enumerate(lines) if (m := re.match(r"^(?:# )?(\w+) =", line))}
    expected = [*RunConfig.model_fields, *AcousticConfig.model_fields, *LLMConfig.model_fields, *TargetRisk.model_fields]
    assert set(expected) - {"acoustic", "routing", "llm"} <= set(settings)
    for index in settings.values():
        assert lines[index - 1].startswith("#") and len(lines[index - 1].strip("# ")) > 3
    assert any("speaker-grouped folds" in line for line in lines)  # a description, not a copy of it
    assert any('"svm-rbf", "svm-linear"' in line for line in lines)  # the choices of an enum


def test_the_commented_llm_section_uncommented_is_a_valid_llm_configuration() -> None:
    text = runner.invoke(app, ["config"]).output
    section = text[text.index("# [llm]") :].splitlines()
    settings = [line[2:] for line in section if re.match(r"^# \w+ = .+", line)]
    toml = "[llm]\nbase_url = 'http://localhost:8000/v1'\nmodel = 'm'\n" + "\n".join(settings)

    assert RunConfig.model_validate(tomllib.loads(toml)).llm == LLMConfig(base_url="http://localhost:8000/v1", model="m")
