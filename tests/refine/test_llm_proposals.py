from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.refine.conftest import PITCH
from vietser.llm.client import LLMConfig
from vietser.testing.scripted_server import Reply, ScriptedOpenAIServer, malformed_json
from vietser.refine.analysis import analyse_errors
from vietser.refine.devset import DevSet
from vietser.refine.edits import AddRule, apply_edit
from vietser.refine.llm_proposals import LLMProposer
from vietser.refine.loop import refine
from vietser.rules.rulebook import Rulebook

PITCH_RULE = {
    "kind": "add_rule",
    "reason": "panic→angry errors have high pitch",
    "rule": {
        "id": "panic-high-pitch",
        "when": [{"feature": PITCH, "op": ">", "value": 1.0}],
        "supports": "panic",
        "weight": 1.5,
        "rationale": {"en": "Panic raises pitch.", "vi": "Hoảng loạn làm giọng cao lên."},
        "provenance": "refined",
    },
}


@pytest.fixture
def proposer_for(tmp_path: Path) -> Iterator:
    made: list[tuple[ScriptedOpenAIServer, LLMProposer]] = []

    def _make(*script: Reply) -> tuple[ScriptedOpenAIServer, LLMProposer]:
        server = ScriptedOpenAIServer(list(script), policy=lambda body: '{"edits": []}').start()
        config = LLMConfig(base_url=server.base_url, model=server.model, timeout_s=2, max_retries=0,
                           cache_path=tmp_path / "calls.sqlite3")
        made.append((server, LLMProposer(config)))
        return made[-1]

    yield _make
    for server, proposer in made:
        proposer.close()
        server.stop()


def _answer(*edits: dict) -> Reply:
    return Reply(json.dumps({"edits": list(edits)}))


def test_a_valid_edit_is_parsed_and_applies(proposer_for, dev: DevSet, rulebook: Rulebook) -> None:
    server, proposer = proposer_for(_answer(PITCH_RULE))
    batch = proposer.propose(dev, rulebook, analyse_errors(dev, rulebook))
    [edit] = batch.edits
    assert isinstance(edit, AddRule) and edit.source == "llm"
    assert apply_edit(rulebook, edit).rules[-1].id == "panic-high-pitch"
    body = server.requests[0]
    schema = body["response_format"]["json_schema"]
    assert schema["name"] == "rulebook_edits"
    assert "source" not in schema["schema"]["$defs"]["AddRule"]["properties"]
    assert "angry-fast" in body["messages"][1]["content"] and "panic → angry" in body["messages"][1]["content"]


def test_the_llm_edit_is_accepted_by_the_loop(proposer_for, dev: DevSet, rulebook: Rulebook) -> None:
    _, proposer = proposer_for(_answer(PITCH_RULE))
    result = refine(dev, rulebook, rounds=1, proposers=[proposer])
    [accepted] = result.rounds[0].accepted
    assert accepted.edit.source == "llm" and result.final_rulebook.rules[-1].id == "panic-high-pitch"


def test_malformed_answer_gives_no_edits_and_a_reason(proposer_for, dev: DevSet, rulebook: Rulebook) -> None:
    _, proposer = proposer_for(malformed_json())
    batch = proposer.propose(dev, rulebook, analyse_errors(dev, rulebook))
    assert batch.edits == [] and batch.notes == ["LLM answer unusable: malformed json"]


def test_answer_outside_the_schema_gives_no_edits(proposer_for, dev: DevSet, rulebook: Rulebook) -> None:
    _, proposer = proposer_for(_answer({"kind": "rename_rule", "rule_id": "angry-fast", "reason": "x"}))
    batch = proposer.propose(dev, rulebook, analyse_errors(dev, rulebook))
    assert batch.edits == [] and batch.notes[0].startswith("LLM answer unusable: schema violation")


def test_an_edit_of_an_unknown_rule_is_left_out_with_a_note(
    proposer_for, dev: DevSet, rulebook: Rulebook
) -> None:
    unknown = {"kind": "remove_rule", "rule_id": "no-such-rule", "reason": "x"}
    _, proposer = proposer_for(_answer(unknown, PITCH_RULE))
    batch = proposer.propose(dev, rulebook, analyse_errors(dev, rulebook))
    assert [e.kind for e in batch.edits] == ["add_rule"]
    assert "no rule 'no-such-rule'" in batch.notes[0]


def test_the_same_prompt_is_replayed_from_the_call_log(proposer_for, dev: DevSet, rulebook: Rulebook) -> None:
    server, proposer = proposer_for(_answer(PITCH_RULE))
    analysis = analyse_errors(dev, rulebook)
    first = proposer.propose(dev, rulebook, analysis)
    again = proposer.propose(dev, rulebook, analysis)
    assert server.request_count == 1
    assert again.edits == first.edits and again.notes == ["replayed from the LLM call log"]
