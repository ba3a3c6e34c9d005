"""One pydantic model configures a run; loadable from TOML/YAML/JSON, overridable from the CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vietser.acoustic import AcousticConfig
from vietser.acoustic.config import Normalisation
from vietser.data.channel import ChannelName
from vietser.errors import ConfigError
from vietser.features.catalog import EVIDENCE_SETS, FEATURE_SETS, FeatureSetName
from vietser.llm.client import LLMConfig, LLMOverrides, PromptTemplates
from vietser.routing import DelegationBudget, RoutingPolicy, ScoreName
from vietser.run.dir import CONFIG_FILE


class RunConfig(BaseModel):
    """Everything that decides what a run computes.

    Example (``vietser.toml``)::

        seed = 0
        confidence_score = "margin"
        [acoustic]
        model = "logreg"
        feature_set = "both"
        [routing]
        kind = "budget"
        max_delegation = 0.25
    """

    model_config = ConfigDict(extra="forbid")

    acoustic: AcousticConfig = Field(default_factory=AcousticConfig, description="the acoustic model")
    routing: RoutingPolicy = Field(
        default_factory=DelegationBudget,
        description="which clips go to the reasoner: the threshold on the confidence score, chosen on dev by this "
        "policy (kind = best_accuracy, budget, target_risk or conformal_coverage)",
    )
    confidence_score: ScoreName = Field(
        default="max_prob",
        description="how sure the acoustic model is of a clip: top probability, margin of the top two, "
        "negative entropy, or a split-conformal set",
    )
    rulebook: Path | None = Field(default=None, description="rulebook YAML; the packaged default when unset")
    rule_prior_weight: float = Field(
        default=1.0, ge=0.0, description="weight of the acoustic prior in the rule engine (fitted when fit_rules)"
    )
    fit_rules: bool = Field(
        default=True,
        description="induce rules on the training clips the acoustic model is unsure of, and fit the rule and "
        "prior weights on them (train split only; out-of-fold probabilities)",
    )
    llm: LLMConfig | None = Field(default=None, description="LLM reasoner; the rule engine decides when unset")
    refit_on_dev: bool = Field(
        default=True,
        description="once the threshold and the rules are chosen on dev (with the train-only model), refit the "
        "acoustic model on train + dev (same settings) for the test decisions and for predict. On RAVDESS "
        "(6 folds, fused eGeMAPS + prosody and emobase views) it lifts the pipeline from 0.915 to 0.926 "
        "macro-F1; with a single eGeMAPS + prosody model it had cost 0.905 → 0.899",
    )
    augment_channels: tuple[ChannelName, ...] = Field(
        default=("telephone",),
        description="train also on the training clips through these simulated channels (telephone: 8 kHz, "
        "300-3400 Hz, G.711; bandlimit; noise; level), each copy its own pseudo-speaker; see vietser.data.channel",
    )
    min_clips_per_speaker: int = Field(
        default=5, ge=2, description="clips a speaker needs for their own baseline in the evidence (else the corpus')"
    )
    evidence_cues: int = Field(default=5, ge=1, description="cues per clip in decisions and prompts")
    n_bootstrap: int = Field(default=1000, ge=100, description="bootstrap resamples for the report's intervals")
    seed: int = Field(default=0, description="seed of the speaker split of a manifest without one, channel copies and bootstrap")

    @property
    def copied_channels(self) -> tuple[ChannelName, ...]:
        """The channels the training clips are copied through: ``augment_channels``, and the acoustic
        companion's channels where the model reads speaker baselines (only then is there a companion)."""
        companion = self.acoustic.companion_channels if self.acoustic.normalisation is Normalisation.SPEAKER else ()
        return tuple(dict.fromkeys((*self.augment_channels, *companion)))

    @model_validator(mode="after")
    def _channels_have_one_use(self) -> RunConfig:
        both = sorted(set(self.augment_channels) & set(self.acoustic.companion_channels))
        if both:
            raise ValueError(
                f"channel(s) {both} are in augment_channels (copies every model trains on) and in "
                "acoustic.companion_channels (copies only the companion trains on); keep each in one"
            )
        return self

    @property
    def feature_sets(self) -> tuple[FeatureSetName, ...]:
        """What to extract for this run: the acoustic model's sets and the evidence sets, in table order."""
        needed = {*self.acoustic.extracted_sets, *EVIDENCE_SETS}
        return tuple(name for name in FEATURE_SETS if name in needed)


def load_config(path: str | Path | None = None, **overrides: Any) -> RunConfig:
    """Read a RunConfig from a .toml / .yaml / .json file (or defaults), then apply non-None overrides.

    Overrides use dotted keys written with double underscores, e.g. ``acoustic__model="svm-rbf"``.

    Raises:
        ConfigError: the file cannot be read or the values are invalid.
    """
    data: dict[str, Any] = _read(Path(path)) if path is not None else {}
    for key, value in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split("__")
        target = data
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid run configuration: {problems}") from exc


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"configuration file {path} not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        if path.suffix in (".yaml", ".yml"):
            return yaml.safe_load(text) or {}
        if path.suffix == ".json":
            return json.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse configuration ({exc})") from exc
    raise ConfigError(f"{path}: unknown configuration format; use .toml, .yaml or .json")


def save_config(config: RunConfig, run_dir: Path) -> Path:
    path = run_dir / CONFIG_FILE
    path.write_text(config.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def read_run_config(run_dir: Path) -> RunConfig:
    """The RunConfig a run directory was made with, for what it says about data (never to reason with:
    :func:`read_reasoning_config` takes the LLM settings from the call)."""
    return load_config(run_dir / CONFIG_FILE)


def read_reasoning_config(
    run_dir: Path, llm: LLMConfig | LLMOverrides | None = None, templates: PromptTemplates = PromptTemplates()
) -> RunConfig:
    """The run's RunConfig for deciding clips (predict, evaluate, the review app), with the LLM settings of
    this call: ``llm`` when it is a whole LLMConfig, else the run's own with the ``LLMOverrides`` given
    merged into them (``--llm-timeout`` changes only the timeout of the run's ``[llm]``).

    A prompt template is code the LLM reasoner renders, and a run directory is data that may come from
    anyone, so a template path stored in its config.json is never used on its own: ``templates`` replaces
    the template paths of the settings used, and each template the stored settings name must be given
    there again.

    Raises:
        ConfigError: the stored LLM settings name a template that ``templates`` does not, or ``templates``
            names one while no LLM is configured.
    """
    config = read_run_config(run_dir)
    if isinstance(llm, LLMConfig):
        chosen: LLMConfig | None = llm
    else:
        if config.llm is not None:
            _refuse_stored_templates(config.llm, templates, run_dir / CONFIG_FILE)
        chosen = (llm or LLMOverrides()).merged_into(config.llm)
    if chosen is None:
        if templates.named():
            raise ConfigError(
                f"a prompt template is given but no LLM reasons for {run_dir} (the rule engine does): "
                "add --llm-base-url and --llm-model, or leave the template out"
            )
        return config
    return config.model_copy(update={"llm": chosen.model_copy(update=templates.named())})


def _refuse_stored_templates(stored: LLMConfig, templates: PromptTemplates, config_path: Path) -> None:
    for field in PromptTemplates.model_fields:
        path = getattr(stored, field)
        if path is not None and getattr(templates, field) is None:
            option = "--llm-" + field.replace("_", "-")
            raise ConfigError(
                f"{config_path} names the prompt template {path} (llm.{field}); a template is code, so vietser "
                f"does not take it from a run directory. Pass it in this call if you trust it: {option} {path} "
                f"(in Python: templates=PromptTemplates({field}=...))"
            )
