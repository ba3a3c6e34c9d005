"""The refinement loop: analyse errors, collect proposals, keep only edits that beat the noise.

Each round:

1. score the current rulebook on the dev set and analyse its errors;
2. collect candidate edits from every proposer (search, LLM, person), dropping
   duplicates (first proposer wins);
3. apply each candidate and score it on the dev set (the full pipeline decision);
4. greedy acceptance: take the candidates that raise dev macro-F1, best first, and
   run the acceptance test (:mod:`vietser.refine.acceptance`) on at most
   ``max_tests_per_round`` of them (alpha corrected for the number of improving
   candidates, see :mod:`vietser.refine.acceptance`). The first that passes is kept. With
   ``edits_per_round > 1`` the loop goes on down the list, re-applying and
   re-testing each remaining candidate against the rulebook just accepted, so a
   second edit must still pay off on top of the first (that is how
   "compatible" is decided);
5. every kept edit is a new rulebook version in the history.

The loop stops after ``rounds`` rounds, or earlier when no edit passes. It reads
the :class:`~vietser.refine.devset.DevSet` only, so the test split cannot
influence any choice. Even with the correction, the dev gain of the kept edits is
optimistic (they are the best of many), which is why the final rulebook is scored
once on the test split outside this loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vietser.errors import ConfigError, RulebookError
from vietser.refine.acceptance import AcceptanceConfig, judge
from vietser.refine.analysis import analyse_errors
from vietser.refine.devset import DevSet
from vietser.refine.edits import RuleEdit, apply_edit, edit_key
from vietser.refine.history import RulebookHistory
from vietser.refine.proposals import Proposer
from vietser.refine.scoring import FiringCache, Scope, pipeline_labels, summarise
from vietser.refine.search import SearchProposer
from vietser.rules.rulebook import Rulebook


class RefineConfig(BaseModel):
    """Settings of the refinement loop."""

    model_config = ConfigDict(extra="forbid")

    prior_weight: float = Field(default=1.0, ge=0.0, description="the rule engine's prior_weight")
    scope: Scope = Field(default="delegated", description="clips the rulebook decides")
    acceptance: AcceptanceConfig = Field(default_factory=AcceptanceConfig)
    max_tests_per_round: int = Field(default=10, ge=1)
    edits_per_round: int = Field(default=1, ge=1)


class AcceptedEdit(BaseModel):
    """An edit that passed, the version it made, and the test that passed it."""

    model_config = ConfigDict(extra="forbid")

    edit: RuleEdit
    version: int
    delta: float
    reason: str


class RejectedEdit(BaseModel):
    """An edit that was not kept, and why; ``delta`` is None when it could not be applied."""

    model_config = ConfigDict(extra="forbid")

    edit: RuleEdit
    reason: str
    delta: float | None = None


class RoundResult(BaseModel):
    """What one round tried, kept and rejected, with dev scores before and after."""

    model_config = ConfigDict(extra="forbid")

    round: int
    version_before: int
    version_after: int
    candidates_tried: int
    accepted: list[AcceptedEdit]
    rejected: list[RejectedEdit]
    dev_before: float
    dev_after: float
    accuracy_before: float
    accuracy_after: float
    delegation_rate: float
    notes: list[str] = Field(default_factory=list, description="what the proposers left out")


class RefinementResult(BaseModel):
    """All rounds and the rulebooks before and after."""

    model_config = ConfigDict(extra="forbid")

    initial_rulebook: Rulebook
    final_rulebook: Rulebook
    initial_dev: float
    final_dev: float
    rounds: list[RoundResult]
    stopped: str


class _State:
    """The current rulebook and its dev predictions during a round."""

    def __init__(
        self, dev: DevSet, rulebook: Rulebook, config: RefineConfig, cache: FiringCache
    ) -> None:
        self.dev, self.config, self.cache = dev, config, cache
        self.rulebook = rulebook
        self.predicted = self.predict(rulebook)
        self.score = summarise(dev, self.predicted, config.scope)

    def predict(self, rulebook: Rulebook) -> np.ndarray:
        return pipeline_labels(
            self.dev, rulebook, prior_weight=self.config.prior_weight,
            scope=self.config.scope, cache=self.cache,
        )

    def trial(self, edit: RuleEdit) -> tuple[Rulebook, np.ndarray, float]:
        """The edited rulebook, its predictions and its macro-F1 gain (RulebookError if invalid)."""
        edited = apply_edit(self.rulebook, edit)
        predicted = self.predict(edited)
        delta = summarise(self.dev, predicted, self.config.scope).macro_f1 - self.score.macro_f1
        return edited, predicted, delta

    def accept(self, rulebook: Rulebook, predicted: np.ndarray) -> None:
        self.rulebook, self.predicted = rulebook, predicted
        self.score = summarise(self.dev, predicted, self.config.scope)


def _candidates(state: _State, proposers: Sequence[Proposer]) -> tuple[list[RuleEdit], list[str]]:
    """Every proposer's edits for the current rulebook (duplicates dropped) and their notes."""
    dev, config = state.dev, state.config
    analysis = analyse_errors(dev, state.rulebook, prior_weight=config.prior_weight, scope=config.scope)
    edits: dict[str, RuleEdit] = {}
    notes: list[str] = []
    for proposer in proposers:
        batch = proposer.propose(dev, state.rulebook, analysis)
        notes += [f"{batch.source}: {note}" for note in batch.notes]
        for edit in batch.edits:
            edits.setdefault(edit_key(edit), edit)
    return list(edits.values()), notes


def _run_round(
    number: int,
    state: _State,
    proposers: Sequence[Proposer],
    history: RulebookHistory | None,
) -> RoundResult:
    config, dev = state.config, state.dev
    before, version_before = state.score, state.rulebook.version
    edits, notes = _candidates(state, proposers)
    rejected: list[RejectedEdit] = []
    improving: list[tuple[float, int, RuleEdit]] = []
    for order, edit in enumerate(edits):
        try:
            _, predicted, delta = state.trial(edit)
        except RulebookError as exc:
            rejected.append(RejectedEdit(edit=edit, reason=f"invalid: {exc}"))
            continue
        if delta > 0 and (predicted != state.predicted).any():
            improving.append((delta, order, edit))
            continue
        # judge() rejects these without resampling: no prediction changed, or no gain.
        verdict = judge(dev, state.predicted, predicted, delta, config.acceptance)
        rejected.append(RejectedEdit(edit=edit, reason=verdict.reason, delta=verdict.delta))
    improving.sort(key=lambda item: (-item[0], item[1]))
    accepted = _accept_greedily(state, [edit for _, _, edit in improving], rejected, history)
    return RoundResult(
        round=number,
        version_before=version_before,
        version_after=state.rulebook.version,
        candidates_tried=len(edits),
        accepted=accepted,
        rejected=rejected,
        dev_before=before.macro_f1,
        dev_after=state.score.macro_f1,
        accuracy_before=before.accuracy,
        accuracy_after=state.score.accuracy,
        delegation_rate=state.score.delegation_rate,
        notes=notes,
    )


def _accept_greedily(
    state: _State,
    ranked: list[RuleEdit],
    rejected: list[RejectedEdit],
    history: RulebookHistory | None,
) -> list[AcceptedEdit]:
    config, accepted = state.config, []
    for tests, edit in enumerate(ranked):
        if tests == config.max_tests_per_round or len(accepted) == config.edits_per_round:
            reason = "not tested: " + (
                f"max_tests_per_round={config.max_tests_per_round} reached"
                if tests == config.max_tests_per_round
                else "a better candidate was accepted this round"
            )
            rejected += [RejectedEdit(edit=e, reason=reason) for e in ranked[tests:]]
            break
        try:
            edited, predicted, delta = state.trial(edit)
        except RulebookError as exc:
            rejected.append(RejectedEdit(edit=edit, reason=f"invalid after an accepted edit: {exc}"))
            continue
        verdict = judge(state.dev, state.predicted, predicted, delta, config.acceptance, len(ranked))
        if not verdict.accepted:
            rejected.append(RejectedEdit(edit=edit, reason=verdict.reason, delta=delta))
            continue
        dev_before = state.score.macro_f1
        if history is not None:
            edited = history.record(
                edited, edits=[edit], note=verdict.reason,
                dev_before=dev_before, dev_after=dev_before + delta,
            )
        state.accept(edited, predicted)
        accepted.append(
            AcceptedEdit(edit=edit, version=edited.version, delta=delta, reason=verdict.reason)
        )
    return accepted


def _start(rulebook: Rulebook, history: RulebookHistory | None, dev_score: float) -> Rulebook:
    """The starting rulebook as stored in the history (recorded unless it is the current one)."""
    if history is None:
        return rulebook
    if history.current_version() is not None:
        current = history.current()
        if current.model_copy(update={"version": rulebook.version}) == rulebook:
            return current
    return history.record(rulebook, note="starting rulebook", dev_after=dev_score)


def refine(
    dev: DevSet,
    rulebook: Rulebook,
    *,
    rounds: int = 5,
    proposers: Sequence[Proposer] | None = None,
    history: RulebookHistory | None = None,
    config: RefineConfig | None = None,
) -> RefinementResult:
    """Refine ``rulebook`` on the dev set for up to ``rounds`` rounds (method: module docstring).

    Args:
        proposers: where candidate edits come from; default one :class:`SearchProposer`.
        history: where every version is stored; the starting rulebook is recorded first
            unless it equals the history's current version.
    """
    if rounds < 0:
        raise ConfigError(f"rounds must be 0 or more, got {rounds}")
    config = config or RefineConfig()
    proposers = list(proposers) if proposers is not None else [SearchProposer()]
    state = _State(dev, rulebook, config, FiringCache(dev))
    state.rulebook = _start(rulebook, history, state.score.macro_f1)
    initial, initial_dev = state.rulebook, state.score.macro_f1
    results: list[RoundResult] = []
    stopped = f"ran all {rounds} rounds"
    for number in range(1, rounds + 1):
        results.append(_run_round(number, state, proposers, history))
        if not results[-1].accepted:
            stopped = f"no edit passed the acceptance test in round {number}"
            break
    return RefinementResult(
        initial_rulebook=initial,
        final_rulebook=state.rulebook,
        initial_dev=initial_dev,
        final_dev=state.score.macro_f1,
        rounds=results,
        stopped=stopped,
    )

