"""LLM proposals: an LLM reads the error analysis and the rulebook and answers with rulebook edits.

The two chat messages are rendered from ``prompts/refine_system.md.j2`` and
``prompts/refine_user.md.j2`` (the rulebook as YAML, the analysis as Markdown,
the usable feature columns). The answer must be ``{"edits": [...]}`` in the
JSON schema of :data:`~vietser.refine.edits.RuleEdit` (sent as
``response_format``). Calls go through :class:`~vietser.llm.chat.LoggedChat`
(the reasoner's path: logged in the call log, keyed by prompt, parameters and served model); a successful
answer is replayed on a rerun with the same prompt, so refinement is
reproducible. An unusable answer gives no edits and a note saying why; an edit
that does not apply (unknown rule id, duplicate id, ...) is left out with a note.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from vietser.errors import RulebookError
from vietser.labels import CLASSES
from vietser.llm.chat import Checked, LoggedChat
from vietser.llm.client import LLMConfig
from vietser.llm.schema import EMPTY_RESPONSE, MALFORMED_JSON, REFUSAL, SCHEMA_VIOLATION, TRUNCATED
from vietser.refine.analysis import ErrorAnalysis
from vietser.refine.devset import DevSet
from vietser.refine.edits import EditSource, RuleEdit, applies, parse_edits
from vietser.refine.proposals import ProposalBatch
from vietser.rules.rulebook import Rulebook, dump_rulebook, feature_info
from vietser.templating import prompt_environment, render

PROMPTS_DIR = Path(__file__).parent / "prompts"
SCHEMA_NAME = "rulebook_edits"
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class EditAnswer(BaseModel):
    """What the LLM must return: a list of edits."""

    model_config = ConfigDict(extra="forbid")

    edits: list[RuleEdit]


def edit_json_schema() -> dict[str, Any]:
    """The ``response_format`` schema of :class:`EditAnswer`, shaped for constrained decoders.

    ``source`` is left out (it is always "llm"), ``kind`` is required, and the union is an
    ``anyOf`` without pydantic's ``discriminator`` (``oneOf`` is unsupported by several servers).
    """
    schema = EditAnswer.model_json_schema()
    for definition in schema["$defs"].values():
        properties = definition.get("properties", {})
        properties.pop("source", None)
        if "kind" in properties:
            others = [name for name in definition.get("required", []) if name != "source"]
            definition["required"] = ["kind", *others]
    items = schema["properties"]["edits"]["items"]
    items.pop("discriminator", None)
    items["anyOf"] = items.pop("oneOf")
    return schema


def _decode(content: str | None, refusal: str | None, finish_reason: str | None) -> tuple[Any, str | None]:
    """The decoded JSON answer and None, or None and why there is none."""
    if refusal or finish_reason == "content_filter":
        return None, REFUSAL
    if content is None or not content.strip():
        return None, EMPTY_RESPONSE
    text = content.strip()
    fenced = _FENCE.match(text)
    try:
        return json.loads(fenced.group(1) if fenced else text), None
    except json.JSONDecodeError:
        return None, TRUNCATED if finish_reason == "length" else MALFORMED_JSON


def parse_edit_answer(
    content: str | None, refusal: str | None = None, finish_reason: str | None = None
) -> Checked[list[RuleEdit]]:
    """The edits of a reply (source "llm"), or no edits and the failure reason."""
    decoded, failure = _decode(content, refusal, finish_reason)
    if failure is not None:
        return Checked([], failure)
    try:
        edits = parse_edits(decoded, "llm", origin="LLM answer")
    except RulebookError as exc:
        return Checked([], f"{SCHEMA_VIOLATION}: {exc}")
    return Checked(edits, None, {"edits": [edit.model_dump(mode="json") for edit in edits]})


class LLMProposer:
    """Asks an LLM for rulebook edits once per round; failures give no edits and a note.

    Args:
        max_edits: edits kept from one answer (the rest are noted and left out).
    """

    source: EditSource = "llm"

    def __init__(self, config: LLMConfig, *, max_edits: int = 10) -> None:
        self.config = config
        self.max_edits = max_edits
        env = prompt_environment(PROMPTS_DIR)
        self._system = env.get_template("refine_system.md.j2")
        self._user = env.get_template("refine_user.md.j2")
        self._chat = LoggedChat(config, edit_json_schema(), SCHEMA_NAME)
        self.cache = self._chat.cache

    def messages(
        self, dev: DevSet, rulebook: Rulebook, analysis: ErrorAnalysis
    ) -> list[dict[str, str]]:
        """The exact chat messages sent for this rulebook and analysis."""
        features = [
            {"column": feature, "name": feature_info(feature)[0]} for feature in dev.z_features
        ]
        system = render(self._system, {"label_names": list(CLASSES), "max_edits": self.max_edits})
        user = render(
            self._user,
            {
                "rulebook_yaml": dump_rulebook(rulebook).rstrip(),
                "analysis_markdown": analysis.to_markdown().rstrip(),
                "features": features,
            },
        )
        return [
            {"role": "system", "content": system.strip() + "\n"},
            {"role": "user", "content": user.strip() + "\n"},
        ]

    def propose(self, dev: DevSet, rulebook: Rulebook, analysis: ErrorAnalysis) -> ProposalBatch:
        """The LLM's applicable edits (replayed from the call log when asked before)."""
        turn = self._chat.ask(self.messages(dev, rulebook, analysis), parse_edit_answer)
        notes = ["replayed from the LLM call log"] if turn.replayed else []
        if turn.checked.failure is not None:
            return ProposalBatch(source="llm", notes=[*notes, f"LLM answer unusable: {turn.checked.failure}"])
        return ProposalBatch(source="llm", **_applicable(rulebook, turn.checked.value, self.max_edits, notes))

    def close(self) -> None:
        """Close the call log."""
        self._chat.close()

    def __enter__(self) -> LLMProposer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _applicable(
    rulebook: Rulebook, edits: list[RuleEdit], max_edits: int, notes: list[str]
) -> dict[str, Any]:
    """The edits that apply to ``rulebook`` (at most ``max_edits``); the others as notes."""
    kept: list[RuleEdit] = []
    for index, edit in enumerate(edits):
        if len(kept) == max_edits:
            notes.append(f"left out the last {len(edits) - index} edits (max_edits={max_edits})")
            break
        if applies(rulebook, edit, notes):
            kept.append(edit)
    return {"edits": kept, "notes": notes}
