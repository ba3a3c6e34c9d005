"""The LLM reasoner's prompt: two chat messages per clip, rendered from sandboxed Jinja2 templates.

``prompts/system.md.j2`` and ``prompts/reasoner.md.j2`` (either replaceable by a
user file; both rendered in Jinja2's sandbox, :mod:`vietser.templating`) get the
labels, the enabled rules under short ids, the rules that hold on the clip and
the near misses (computed by the rule core), the clip's cues and key z-scores,
the acoustic probabilities and the transcript as quoted data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from vietser.decision import ClipEvidence
from vietser.errors import ConfigError
from vietser.labels import CLASSES, VIETNAMESE_NAMES
from vietser.reasoning import ReasoningRequest
from vietser.rules.core import FeatureColumns, conditions_hold
from vietser.rules.phrases import fold, mentioned
from vietser.rules.rulebook import Rule, Rulebook, feature_info
from vietser.templating import prompt_environment, render


PROMPTS_DIR = Path(__file__).parent / "prompts"
TRANSCRIPT_OPEN = "<<<TRANSCRIPT>>>"
TRANSCRIPT_CLOSE = "<<<END TRANSCRIPT>>>"
MAX_TRANSCRIPT_CHARS = 2000
MAX_TABLE_ROWS = 24

# Always shown when present: the interpretable prosody a listener would name.
KEY_FEATURES = (
    "prosody.f0_mean_st",
    "prosody.f0_range_st",
    "prosody.f0_slope_st_per_s",
    "prosody.intensity_mean_db",
    "prosody.intensity_range_db",
    "prosody.speech_rate",
    "prosody.pause_ratio",
    "prosody.voiced_fraction",
    "prosody.jitter_local",
    "prosody.shimmer_local",
    "prosody.hnr_db",
)


def quote_transcript(text: str) -> str:
    """The transcript as one JSON-quoted line that cannot imitate the data delimiters.

    Whitespace (newlines included) collapses to single spaces, angle brackets
    become look-alikes ``‹ ›`` so no ``<<<...>>>`` marker survives, and JSON
    quoting escapes quotes and backslashes.
    """
    flat = " ".join(text.split())[:MAX_TRANSCRIPT_CHARS]
    return json.dumps(flat.replace("<", "‹").replace(">", "›"), ensure_ascii=False)


def _z_of(evidence: ClipEvidence, column: str) -> float | None:
    return evidence.z.get(column, evidence.z.get(f"z.{column}"))


def z_table(evidence: ClipEvidence, columns: Sequence[str]) -> list[dict[str, str]]:
    """Rows (name, value, z) for the cue features, then ``columns``, that have a finite z-score."""
    ordered = dict.fromkeys([cue.feature for cue in evidence.cues] + list(columns))
    rows = []
    for column in ordered:
        z = _z_of(evidence, column)
        if z is None or not math.isfinite(z):
            continue
        name, unit = feature_info(column)
        value = evidence.values.get(column)
        shown = "" if value is None else f"{value:.3g} {unit}".rstrip()
        rows.append({"name": name, "column": column, "value": shown, "z": f"{z:+.2f}"})
    return rows[:MAX_TABLE_ROWS]


def short_rule_ids(rules: Sequence[Rule]) -> dict[str, str]:
    """``R1``, ``R2``, … for the rules in order, to their ids: induced ids run to 90 characters and more,
    tokens a small model must copy exactly."""
    return {f"R{index}": rule.id for index, rule in enumerate(rules, start=1)}


def rule_facts(
    rules: Sequence[Rule], request: ReasoningRequest, short: dict[str, str] | None = None
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The rules whose conditions all hold on this clip, and the near misses (all but one hold), computed
    exactly with the rule core, so the model need not compare numbers. Outside the training domain no rule
    holds (their thresholds were fitted on the training clips)."""
    firing: list[dict[str, str]] = []
    near: list[dict[str, str]] = []
    if request.out_of_domain:
        return firing, near
    shown = {rule_id: name for name, rule_id in (short or {}).items()}
    for rule in rules:
        clip = FeatureColumns.from_evidence([request.evidence], rule.when, [request.transcript])
        holds = [bool(conditions_hold(clip, [c])[0]) for c in rule.when]
        failing = [c for c, held in zip(rule.when, holds) if not held]
        name = shown.get(rule.id, rule.id)
        if not failing:
            firing.append({"id": name, "supports": rule.supports})
        elif len(failing) == 1 and len(rule.when) > 1:
            near.append({"id": name, "supports": rule.supports, "missing": failing[0].describe()})
    return firing, near


def heard_phrases(rules: Sequence[Rule], transcript: str | None) -> list[str]:
    """The rules' phrase lists the transcript mentions (negation-aware), each described once, e.g.
    'transcript mentions "cứu với" or "cháy" (panic)'."""
    if transcript is None:
        return []
    text = fold(transcript)
    heard = [
        f"{c.describe()} ({rule.supports})"
        for rule in rules
        for c in rule.when
        if c.on_transcript and mentioned(text, c.phrases or [])
    ]
    return list(dict.fromkeys(heard))


class PromptBuilder:
    """Renders the system and user messages for one request."""

    def __init__(
        self,
        rulebook: Rulebook,
        classes: Sequence[str] = CLASSES,
        *,
        system_template: Path | None = None,
        user_template: Path | None = None,
    ) -> None:
        env = prompt_environment(PROMPTS_DIR)
        self._system = _template(env, system_template, "system.md.j2")
        self._user = _template(env, user_template, "reasoner.md.j2")
        rules = [rule for rule in rulebook.rules if rule.enabled]
        self._rules = rules
        self.short_ids = short_rule_ids(rules)
        condition_features = [c.feature for rule in rules for c in rule.when if not c.on_transcript]
        self._columns = list(dict.fromkeys(condition_features + list(KEY_FEATURES)))
        self._context: dict[str, Any] = {
            "labels": [{"name": c, "vi": VIETNAMESE_NAMES.get(c, c)} for c in classes],
            "label_names": list(classes),
            "rulebook": rulebook,
            "rules": [
                {
                    "id": short,
                    "description": rule.describe(),
                    "supports": rule.supports,
                    "weight": f"{rule.weight:g}",
                    "priority": rule.priority,
                    "rationale": rule.rationale.en,
                }
                for short, rule in zip(self.short_ids, rules)
            ],
            "transcript_open": TRANSCRIPT_OPEN,
            "transcript_close": TRANSCRIPT_CLOSE,
        }
        self._classes = tuple(classes)
        self._user_path = user_template
        self._system_text = _render(self._system, self._context, system_template)
        probe = ReasoningRequest(
            evidence=ClipEvidence(clip_id="template-check", values={}, z={}),
            probabilities={c: 1 / len(classes) for c in classes},
            transcript="template check",
        )
        self.messages(probe)  # a broken user template fails here, not on the first clip

    def messages(self, request: ReasoningRequest) -> list[dict[str, str]]:
        """The chat messages for one request (the clip id is never shown to the model)."""
        return self.prompt(request)[0]

    def prompt(self, request: ReasoningRequest) -> tuple[list[dict[str, str]], list[str]]:
        """The chat messages for one request and the (short) ids of the rules it may cite: those that hold
        on the clip or nearly hold."""
        firing, near_misses = rule_facts(self._rules, request, self.short_ids)
        context = {
            **self._context,
            "firing": firing,
            "near_misses": near_misses,
            "cues": list(dict.fromkeys(cue.text_en for cue in request.evidence.cues)),
            "z_table": z_table(request.evidence, self._columns),
            "probabilities": [{"label": c, "p": request.probabilities.get(c, 0.0)} for c in self._classes],
            "transcript": None if request.transcript is None else quote_transcript(request.transcript),
            "heard": heard_phrases(self._rules, request.transcript),
            "delegated": request.delegated,
        }
        user = _render(self._user, context, self._user_path)
        citable = list(dict.fromkeys(rule["id"] for rule in firing + near_misses))
        return [{"role": "system", "content": self._system_text}, {"role": "user", "content": user}], citable


def _template(env: jinja2.Environment, path: Path | None, packaged: str) -> jinja2.Template:
    try:
        if path is None:
            return env.get_template(packaged)
        return env.from_string(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read prompt template {path}: {exc.strerror or exc}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"prompt template {path or packaged} line {exc.lineno}: {exc.message}") from exc


def _render(template: jinja2.Template, context: dict[str, Any], path: Path | None) -> str:
    try:
        return render(template, context, path).strip() + "\n"
    except jinja2.TemplateError as exc:
        raise ConfigError(
            f"prompt template {path or template.name} failed to render: {exc}; "
            f"available variables: {', '.join(sorted(context))}"
        ) from exc
