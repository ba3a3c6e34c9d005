from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.refine.conftest import PITCH
from vietser.errors import RulebookError
from vietser.refine.analysis import analyse_errors
from vietser.refine.devset import DevSet
from vietser.refine.edits import AddRule, SetWeight
from vietser.refine.loop import refine
from vietser.refine.person import PersonProposer, read_edit_file, review_store_edits
from vietser.review.store import ReviewStore
from vietser.rules.rulebook import Rulebook

PROPOSED_RULE = {
    "id": "review-lan-clip7-panic",
    "when": [{"feature": PITCH, "op": ">=", "value": 1.0, "scale": "z"}],
    "supports": "panic",
    "weight": 1.0,
    "rationale": {"en": "Reviewer lan heard panic.", "vi": "Người nghe lan nhận định hoảng loạn."},
    "provenance": "person",
}


def test_edits_are_read_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "edits.yaml"
    path.write_text(yaml.safe_dump([{"kind": "set_weight", "rule_id": "angry-fast", "weight": 0.2,
                                     "reason": "fires on panic"}]), encoding="utf-8")
    [edit] = read_edit_file(path)
    assert isinstance(edit, SetWeight) and (edit.weight, edit.source) == (0.2, "person")


def test_edits_are_read_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "edits.json"
    path.write_text(json.dumps({"edits": [{"kind": "add_rule", "rule": PROPOSED_RULE, "reason": "heard it"}]}),
                    encoding="utf-8")
    [edit] = read_edit_file(path)
    assert isinstance(edit, AddRule) and edit.rule.when[0].feature == PITCH


def test_an_invalid_edit_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "edits.yaml"
    path.write_text("- kind: set_weight\n  rule_id: a\n  reason: r\n", encoding="utf-8")
    with pytest.raises(RulebookError, match="edits.yaml is invalid: edit #1: field 'set_weight.weight'"):
        read_edit_file(path)


def test_review_store_proposals_become_person_add_rule_edits(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "reviews.sqlite")
    store.add_proposal("dev/clip7.wav", "lan", PROPOSED_RULE)
    store.add_proposal("dev/clip8.wav", "minh", {**PROPOSED_RULE, "id": "Not A Slug"})
    batch = review_store_edits(tmp_path / "reviews.sqlite")
    [edit] = batch.edits
    assert isinstance(edit, AddRule) and edit.source == "person"
    assert edit.rule.id == "review-lan-clip7-panic" and "lan" in edit.reason
    assert "proposal #2 by minh" in batch.notes[0] and "not a slug" in batch.notes[0]


def test_person_proposer_leaves_out_edits_that_no_longer_apply(
    tmp_path: Path, dev: DevSet, rulebook: Rulebook
) -> None:
    store = ReviewStore(tmp_path / "reviews.sqlite")
    store.add_proposal("dev/clip7.wav", "lan", {**PROPOSED_RULE, "id": "angry-fast"})
    proposer = PersonProposer.from_review_store(store)
    batch = proposer.propose(dev, rulebook, analyse_errors(dev, rulebook))
    assert batch.edits == [] and "duplicate rule id" in batch.notes[0]


def test_a_helpful_review_proposal_is_accepted_as_a_person_rule(
    tmp_path: Path, dev: DevSet, rulebook: Rulebook
) -> None:
    store = ReviewStore(tmp_path / "reviews.sqlite")
    store.add_proposal("dev/clip7.wav", "lan", PROPOSED_RULE)
    result = refine(dev, rulebook, rounds=1, proposers=[PersonProposer.from_review_store(store)])
    [accepted] = result.rounds[0].accepted
    assert accepted.edit.source == "person"
    assert result.final_rulebook.rules[-1].provenance == "person"
