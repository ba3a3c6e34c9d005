"""The LLM reasoner: ambiguous clips are decided by an LLM reading their evidence under a rulebook.

Each request becomes two chat messages rendered from Jinja2 templates
(``prompts/system.md.j2`` and ``prompts/reasoner.md.j2``, either replaceable by
a user file; both rendered in Jinja2's sandbox, :mod:`vietser.templating`): the labels, the enabled rules, the clip's cues and key z-scores,
the acoustic probabilities and the transcript as quoted data. Replies are
validated (:mod:`vietser.llm.schema`); successful ones are logged and replayed
from the SQLite call log (:mod:`vietser.llm.cache`). Any failure keeps the
acoustic model's label, with ``fallback=True``, ``reasoner="acoustic"`` and the
reason. Example::

    config = LLMConfig(base_url="http://localhost:8000/v1", model="Qwen/Qwen2.5-7B-Instruct")
    with LLMReasoner(config, default_rulebook()) as reasoner:
        results = reasoner.reason(requests)
        reasoner.usage.cache_hits
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import fmean
from typing import Any

import jinja2
import numpy as np
from pydantic import BaseModel, Field

from vietser.decision import ClipEvidence, ReasonerName
from vietser.errors import ConfigError
from vietser.labels import CLASSES, VIETNAMESE_NAMES
from vietser.llm.chat import Checked, LoggedChat, Turn
from vietser.llm.client import LLMConfig, max_tokens
from vietser.llm.schema import (
    EMPTY_RESPONSE,
    ParsedAnswer,
    answer_json_schema,
    answer_token_bound,
    parse_answer,
)
from vietser.reasoning import ReasoningRequest, ReasoningResult
from vietser.rules.core import FeatureColumns, conditions_hold
from vietser.rules.phrases import fold, mentioned
from vietser.rules.rulebook import Rule, Rulebook, feature_info
from vietser.templating import render, sandboxed_environment

logger = logging.getLogger(__name__)

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
        env = sandboxed_environment(
            loader=jinja2.FileSystemLoader(PROMPTS_DIR),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
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


class LLMUsage(BaseModel):
    """What the reasoner has spent so far; tokens and latency count live calls only."""

    requests: int = 0
    cache_hits: int = 0
    calls: int = 0
    fallbacks: int = 0
    failures: dict[str, int] = {}
    dropped_rule_ids: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    mean_latency_s: float = 0.0
    p50_latency_s: float = 0.0
    p95_latency_s: float = 0.0
    short_prompts: int = Field(default=0, description="replies whose prompt-token count says the server cut the prompt")
    structured_output: str = Field(default="", description="the response_format form in use at the end")

    @property
    def fallback_share(self) -> float:
        """Share of requests whose answer was unusable."""
        return self.fallbacks / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class _Outcome:
    """One answered request, for the usage summary."""

    failure: str | None
    dropped_rule_ids: int
    turn: Turn[ParsedAnswer]


def _summarise(outcomes: Sequence[_Outcome], structured_output: str) -> LLMUsage:
    live = [o.turn for o in outcomes if not o.turn.replayed]
    latencies = [turn.latency_s for turn in live]
    failures = Counter(o.failure for o in outcomes if o.failure is not None)
    p50, p95 = np.percentile(latencies, [50, 95]) if latencies else (0.0, 0.0)
    return LLMUsage(
        requests=len(outcomes),
        cache_hits=len(outcomes) - len(live),
        calls=sum(turn.attempts for turn in live),
        fallbacks=sum(failures.values()),
        failures=dict(failures),
        dropped_rule_ids=sum(o.dropped_rule_ids for o in outcomes),
        prompt_tokens=sum(turn.prompt_tokens for turn in live),
        completion_tokens=sum(turn.completion_tokens for turn in live),
        mean_latency_s=fmean(latencies) if latencies else 0.0,
        p50_latency_s=float(p50),
        p95_latency_s=float(p95),
        short_prompts=sum(turn.short_prompt for turn in live),
        structured_output=structured_output,
    )


def acoustic_fallback(probabilities: dict[str, float], classes: Sequence[str], reason: str) -> ReasoningResult:
    """The acoustic model's decision (first class wins ties), flagged as a fallback."""
    label = max(classes, key=lambda c: probabilities.get(c, 0.0))
    return ReasoningResult(
        label=label,
        confidence=min(max(probabilities.get(label, 0.0), 0.0), 1.0),
        rationale=f"LLM answer unusable ({reason}); the acoustic model's label is kept.",
        reasoner="acoustic",
        fallback=True,
        fallback_reason=reason,
    )


class LLMReasoner:
    """Decides ambiguous clips with an LLM; never drops a clip (failures fall back, flagged).

    Holds the call log open: close it with :meth:`close` or use the reasoner as a context manager.
    """

    name: ReasonerName = "llm"

    def __init__(self, config: LLMConfig, rulebook: Rulebook, classes: Sequence[str] = CLASSES) -> None:
        self.config = config
        self.rulebook = rulebook
        self.classes = tuple(classes)
        self._prompts = PromptBuilder(
            rulebook, self.classes, system_template=config.system_template, user_template=config.prompt_template
        )
        self._short_ids = self._prompts.short_ids
        # The model cites the short ids (the schema's enum); a full id is understood too.
        self._rule_ids = (*self._short_ids, *self._short_ids.values())
        schema = answer_json_schema(self.classes, list(self._short_ids))
        self._chat = LoggedChat(config, schema)
        self.cache = self._chat.cache
        # Every clip's schema is this one narrowed, so no clip's answer needs more.
        self.max_tokens = max_tokens(config, schema)
        bound = answer_token_bound(schema)
        if bound is not None and self.max_tokens < bound:
            logger.warning(
                "llm.max_tokens %d is below the %d tokens the longest valid answer can take: a long answer "
                "may be cut (and fall back, 'truncated at max_tokens'); leave it unset to send the bound",
                self.max_tokens,
                bound,
            )
        self._outcomes: list[_Outcome] = []
        self._lock = threading.Lock()

    @property
    def usage(self) -> LLMUsage:
        """Calls, cache hits, failures by reason, tokens and latency since construction."""
        with self._lock:
            return _summarise(self._outcomes, self._chat.structured_output)

    def messages(self, request: ReasoningRequest) -> list[dict[str, str]]:
        """The exact chat messages this reasoner sends for ``request``."""
        return self._prompts.messages(request)

    def reason(self, requests: Sequence[ReasoningRequest]) -> list[ReasoningResult]:
        """Answer every request, in order, with at most ``config.concurrency`` calls in flight."""
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(requests))) as pool:
            return list(pool.map(self._reason_one, requests))

    def close(self) -> None:
        """Close the call log."""
        self._chat.close()

    def __enter__(self) -> LLMReasoner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check(self, content: str | None, refusal: str | None, finish_reason: str | None) -> Checked[ParsedAnswer]:
        parsed = parse_answer(
            content, classes=self.classes, rule_ids=self._rule_ids, refusal=refusal, finish_reason=finish_reason
        )
        if parsed.answer is not None:
            cited = dict.fromkeys(self._short_ids.get(rule_id, rule_id) for rule_id in parsed.answer.rules_used)
            parsed = replace(parsed, answer=parsed.answer.model_copy(update={"rules_used": list(cited)}))
        logged = parsed.answer.model_dump() if parsed.answer is not None else None
        return Checked(parsed, parsed.failure, logged)

    def _reason_one(self, request: ReasoningRequest) -> ReasoningResult:
        messages, citable = self._prompts.prompt(request)
        schema = answer_json_schema(self.classes, list(self._short_ids), citable)
        turn = self._chat.ask(messages, self._check, schema)
        parsed, failure = turn.checked.value, turn.checked.failure
        with self._lock:
            self._outcomes.append(_Outcome(failure, len(parsed.dropped_rule_ids), turn))
        if failure is not None or parsed.answer is None:
            # parse_answer names every failure; the default only satisfies the type.
            reason = failure or EMPTY_RESPONSE
            return acoustic_fallback(request.probabilities, self.classes, reason).model_copy(update=_accounting(turn))
        if parsed.dropped_rule_ids:
            logger.info("LLM cited unknown rule ids %s; dropped them", ", ".join(parsed.dropped_rule_ids))
        return ReasoningResult(
            label=parsed.answer.label,
            confidence=parsed.answer.confidence,
            rules_used=parsed.answer.rules_used,
            rationale=parsed.answer.rationale,
            reasoner="llm",
            cached=turn.replayed,
            **_accounting(turn),
        )


def _accounting(turn: Turn[Any]) -> dict[str, Any]:
    """Tokens and latency of the call (for a replay: of the original call)."""
    return {"prompt_tokens": turn.prompt_tokens, "completion_tokens": turn.completion_tokens, "latency_s": turn.latency_s}
