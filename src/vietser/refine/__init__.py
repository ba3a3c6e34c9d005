"""Iterative rulebook refinement on the dev split: error analysis, proposed edits, noise-aware acceptance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vietser.exports import lazy_exports

if TYPE_CHECKING:
    from vietser.refine.acceptance import AcceptanceConfig
    from vietser.refine.analysis import ErrorAnalysis
    from vietser.refine.analysis import analyse_errors
    from vietser.refine.devset import DevSet
    from vietser.refine.edits import AddCondition
    from vietser.refine.edits import AddRule
    from vietser.refine.edits import RemoveRule
    from vietser.refine.edits import RuleEdit
    from vietser.refine.edits import SetWeight
    from vietser.refine.edits import ThresholdMove
    from vietser.refine.edits import apply_edit
    from vietser.refine.history import RulebookHistory
    from vietser.refine.llm_proposals import LLMProposer
    from vietser.refine.loop import RefineConfig
    from vietser.refine.loop import RefinementResult
    from vietser.refine.loop import RoundResult
    from vietser.refine.loop import refine
    from vietser.refine.person import PersonProposer
    from vietser.refine.person import read_edit_file
    from vietser.refine.person import review_store_edits
    from vietser.refine.report import refinement_section
    from vietser.refine.scoring import DevScore
    from vietser.refine.scoring import score
    from vietser.refine.search import SearchProposer

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "AcceptanceConfig": "vietser.refine.acceptance",
        "ErrorAnalysis": "vietser.refine.analysis",
        "analyse_errors": "vietser.refine.analysis",
        "DevSet": "vietser.refine.devset",
        "AddCondition": "vietser.refine.edits",
        "AddRule": "vietser.refine.edits",
        "RemoveRule": "vietser.refine.edits",
        "RuleEdit": "vietser.refine.edits",
        "SetWeight": "vietser.refine.edits",
        "ThresholdMove": "vietser.refine.edits",
        "apply_edit": "vietser.refine.edits",
        "RulebookHistory": "vietser.refine.history",
        "LLMProposer": "vietser.refine.llm_proposals",
        "RefineConfig": "vietser.refine.loop",
        "RefinementResult": "vietser.refine.loop",
        "RoundResult": "vietser.refine.loop",
        "refine": "vietser.refine.loop",
        "PersonProposer": "vietser.refine.person",
        "read_edit_file": "vietser.refine.person",
        "review_store_edits": "vietser.refine.person",
        "refinement_section": "vietser.refine.report",
        "DevScore": "vietser.refine.scoring",
        "score": "vietser.refine.scoring",
        "SearchProposer": "vietser.refine.search",
    },
)
