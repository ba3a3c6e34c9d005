"""A person's edits: from a YAML/JSON file of edits, or rules proposed in the review app.

An edit file is a list of edits (or ``{"edits": [...]}``) in the shape of
:data:`~vietser.refine.edits.RuleEdit`; ``source`` may be left out and is always
set to "person"::

    - kind: set_weight
      rule_id: angry-loud-voice
      weight: 0.6
      reason: fires on calm clips of loud speakers

Rules proposed in the review app (``ReviewStore(path).proposals()``) become
``add_rule`` edits. Person edits pass the same dev-set acceptance test as any other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml

from vietser.errors import RulebookError
from vietser.refine.analysis import ErrorAnalysis
from vietser.refine.devset import DevSet
from vietser.refine.edits import AddRule, EditSource, RuleEdit, applies, parse_edits
from vietser.refine.proposals import ProposalBatch
from vietser.review.store import ReviewStore
from vietser.rules.rulebook import Rulebook, parse_rulebook

PROPOSED = "proposed"


def read_edit_file(path: str | Path) -> list[RuleEdit]:
    """Edits from a ``.yaml``/``.yml`` or ``.json`` file, all with source "person".

    Raises:
        RulebookError: the file cannot be read or parsed, or an edit is invalid (named by position).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulebookError(f"cannot read edit file {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise RulebookError(f"{path} is not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {exc}") from exc
    return parse_edits(data, "person", origin=str(path))


def review_store_edits(store: ReviewStore | str | Path, status: str = PROPOSED) -> ProposalBatch:
    """An ``add_rule`` edit per rule proposal of the review store with ``status``.

    A proposal whose rule is invalid is left out and noted.
    """
    store = store if isinstance(store, ReviewStore) else ReviewStore(store)
    edits: list[RuleEdit] = []
    notes: list[str] = []
    for proposal in store.proposals():
        if proposal.status != status:
            continue
        origin = f"proposal #{proposal.id} by {proposal.reviewer} (clip {proposal.clip_id})"
        try:
            # Validating the rule inside a one-rule rulebook gives the rulebook's readable errors.
            [rule] = parse_rulebook(
                {"name": "proposal", "version": 1, "rules": [proposal.rule]}, source=origin
            ).rules
        except RulebookError as exc:
            notes.append(f"left out: {exc}")
            continue
        edits.append(AddRule(rule=rule, reason=f"{origin}: {rule.rationale.en}", source="person"))
    return ProposalBatch(source="person", edits=edits, notes=notes)


class PersonProposer:
    """Offers the same person edits every round, leaving out those that no longer apply."""

    source: EditSource = "person"

    def __init__(self, edits: Sequence[RuleEdit], notes: Sequence[str] = ()) -> None:
        self.edits = [edit.model_copy(update={"source": "person"}) for edit in edits]
        self.notes = list(notes)

    @classmethod
    def from_file(cls, path: str | Path) -> PersonProposer:
        """The edits of an edit file (see :func:`read_edit_file`)."""
        return cls(read_edit_file(path))

    @classmethod
    def from_review_store(cls, store: ReviewStore | str | Path) -> PersonProposer:
        """The rule proposals of a review store (see :func:`review_store_edits`)."""
        batch = review_store_edits(store)
        return cls(batch.edits, batch.notes)

    def propose(self, dev: DevSet, rulebook: Rulebook, analysis: ErrorAnalysis) -> ProposalBatch:
        """The edits that still apply to ``rulebook``; the others are noted."""
        notes = list(self.notes)
        edits = [edit for edit in self.edits if applies(rulebook, edit, notes)]
        return ProposalBatch(source="person", edits=edits, notes=notes)
