"""Iterative rulebook refinement on the dev split: error analysis, proposed edits, noise-aware acceptance."""

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

__all__ = [
    "AcceptanceConfig",
    "AddCondition",
    "AddRule",
    "DevScore",
    "DevSet",
    "ErrorAnalysis",
    "LLMProposer",
    "PersonProposer",
    "RefineConfig",
    "RefinementResult",
    "RemoveRule",
    "RoundResult",
    "RuleEdit",
    "RulebookHistory",
    "SearchProposer",
    "SetWeight",
    "ThresholdMove",
    "analyse_errors",
    "apply_edit",
    "read_edit_file",
    "refine",
    "refinement_section",
    "review_store_edits",
    "score",
]
