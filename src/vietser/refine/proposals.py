"""The proposer interface: each round, every proposer offers candidate edits for the current rulebook.

Three kinds exist: :class:`~vietser.refine.search.SearchProposer` (automatic
search on the dev set), :class:`~vietser.refine.llm_proposals.LLMProposer` (an LLM
reads the error analysis and the rulebook) and
:class:`~vietser.refine.person.PersonProposer` (edits written by a person or
proposed in the review app). A proposer never raises for a bad proposal: it
leaves it out and says why in ``notes``.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from vietser.refine.analysis import ErrorAnalysis
from vietser.refine.devset import DevSet
from vietser.refine.edits import EditSource, RuleEdit
from vietser.rules.rulebook import Rulebook


class ProposalBatch(BaseModel):
    """One proposer's candidate edits for one round, and what it left out (and why)."""

    model_config = ConfigDict(extra="forbid")

    source: EditSource
    edits: list[RuleEdit] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Proposer(Protocol):
    """Offers candidate edits given the dev set, the current rulebook and its error analysis."""

    source: EditSource

    def propose(self, dev: DevSet, rulebook: Rulebook, analysis: ErrorAnalysis) -> ProposalBatch:
        """Candidate edits of ``rulebook``; bad proposals are left out and noted, never raised."""
        ...
