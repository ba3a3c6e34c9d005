"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:  # the LLM client loads the openai SDK; only commands that reason need it
    from vietser.llm.client import LLMConfig, PromptTemplates

ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="Run configuration (.toml, .yaml or .json).")
]
ModelOption = Annotated[
    Optional[str], typer.Option("--model", help="svm-rbf, svm-linear, logreg, hgb or mlp.")
]
FeatureSetOption = Annotated[
    Optional[str],
    typer.Option("--feature-set", help="What the first model reads: both (eGeMAPS + prosody), voice (pitch, voice quality and formants: what reads clips without a speaker baseline), egemaps, prosody, emobase or compare."),
]
LateFusionOption = Annotated[
    Optional[str],
    typer.Option(
        "--late-fusion",
        help="Feature sets read by further models whose probabilities are averaged with the first's, "
        "comma-separated (default emobase; e.g. emobase,compare), or 'none' for one model.",
    ),
]
NormalisationOption = Annotated[
    Optional[str], typer.Option("--normalisation", help="speaker (per-speaker z-scores, default) or corpus.")
]
RulebookOption = Annotated[Optional[Path], typer.Option("--rulebook", help="Rulebook YAML (default: packaged).")]
LLMBaseURLOption = Annotated[
    Optional[str],
    typer.Option(
        "--llm-base-url",
        envvar="VIETSER_LLM_BASE_URL",
        help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM). Unset: the rule engine reasons.",
    ),
]
LLMModelOption = Annotated[
    Optional[str], typer.Option("--llm-model", envvar="VIETSER_LLM_MODEL", help="Model name at that endpoint.")
]
# No environment variables: a template is code, so only this command line names one.
LLMSystemTemplateOption = Annotated[
    Optional[Path],
    typer.Option("--llm-system-template", help="Jinja2 file replacing the LLM's system prompt (rendered sandboxed)."),
]
LLMPromptTemplateOption = Annotated[
    Optional[Path],
    typer.Option("--llm-prompt-template", help="Jinja2 file replacing the LLM's user prompt (rendered sandboxed)."),
]


def feature_set_list(value: str | None) -> list[str] | None:
    """A comma-separated option as a list of set names; 'none' is the empty list, None stays None."""
    if value is None:
        return None
    if value.strip().lower() == "none":
        return []
    return [name.strip() for name in value.split(",") if name.strip()]


def prompt_templates(
    system_template: Path | None, prompt_template: Path | None, given: LLMConfig | None = None
) -> PromptTemplates:
    """The prompt templates this command names: its options, else those of ``given`` (LLM settings from a
    configuration file named on this command line)."""
    from vietser.llm.client import PromptTemplates

    return PromptTemplates(
        system_template=system_template or (given.system_template if given else None),
        prompt_template=prompt_template or (given.prompt_template if given else None),
    )
