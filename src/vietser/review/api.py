"""JSON HTTP API: prediction for uploaded audio, the review queue, reviews, rules, export."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from vietser.decision import Decision
from vietser.errors import AudioError, VietserError
from vietser.labels import CLASSES, Emotion
from vietser.review.calls import CallRecord, CallTimeline, call_timeline
from vietser.review.context import ReviewContext, get_context
from vietser.review.export import export_manifest
from vietser.review.proposals import build_rule, default_rationale, prefill_conditions
from vietser.review.queue import Queue, needs_review
from vietser.review.security import verify_csrf
from vietser.review.store import Review, RuleProposal
from vietser.review.uploads import audio_error_message, check_duration, display_name, save_upload
from vietser.rules.rulebook import Condition, Rulebook

REVIEWER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$"
ReviewerName = Annotated[
    str, Field(pattern=REVIEWER_PATTERN, description="reviewer name: letters, digits, '_', '.', '-' (at most 40)")
]

router = APIRouter()


class Health(BaseModel):
    status: str
    clips: int
    queue: int


class ReviewIn(BaseModel):
    """A person's label for one clip."""

    model_config = ConfigDict(extra="forbid")

    clip_id: str = Field(max_length=2000)
    label: Emotion
    note: str = Field(default="", max_length=2000)
    reviewer: ReviewerName


class ProposalIn(BaseModel):
    """A rule proposed from one clip; conditions default to ones drafted from its evidence."""

    model_config = ConfigDict(extra="forbid")

    clip_id: str = Field(max_length=2000)
    reviewer: ReviewerName
    label: Emotion
    conditions: list[Condition] | None = Field(default=None, min_length=1, max_length=10)
    rationale_en: str | None = Field(default=None, max_length=2000)
    rationale_vi: str | None = Field(default=None, max_length=2000)


class ClipDetail(BaseModel):
    """One clip with everything a reviewer looks at."""

    decision: Decision
    transcript: str | None
    audio_url: str | None
    in_queue: bool
    reviews: list[Review]
    proposal_prefill: dict[str, list[Condition]]


def clip_url(prefix: str, clip_id: str) -> str:
    """URL of a clip resource; the id is fully percent-encoded, slashes included."""
    return f"{prefix}/{quote(clip_id, safe='')}"


def find_decision(context: ReviewContext, clip_id: str) -> Decision:
    """The decision of ``clip_id``, or 404."""
    decision = context.run.decisions.get(clip_id)
    if decision is None:
        raise HTTPException(404, f"unknown clip id {clip_id!r}: it is not in this run's decisions")
    return decision


def find_call(context: ReviewContext, call_id: str) -> CallRecord:
    """The call ``call_id`` given with ``--calls``, or 404."""
    record = context.run.calls.get(call_id)
    if record is None:
        raise HTTPException(404, f"unknown call id {call_id!r}: give its `predict --segments` output with --calls")
    return record


def timeline_of(context: ReviewContext, call_id: str) -> CallTimeline:
    """Everything the call page and ``GET /api/calls/{call_id}`` show."""
    return call_timeline(find_call(context, call_id), context.run.decisions, context.store.reviews())


def has_audio(context: ReviewContext, decision: Decision) -> bool:
    """Whether ``/audio/{clip_id}`` can play the clip: its own file, or its call's recording for a segment."""
    if decision.call_id is not None:
        return context.run.calls[decision.call_id].audio is not None
    return decision.clip_id in context.run.audio_paths


def record_review(context: ReviewContext, review: ReviewIn) -> Review:
    """Store a review of a known clip (404 for an unknown one)."""
    decision = find_decision(context, review.clip_id)
    return context.store.add_review(
        review.clip_id, review.reviewer, review.label.value, review.note.strip(), decision.label
    )


def record_proposal(context: ReviewContext, proposal: ProposalIn) -> RuleProposal:
    """Store a rule proposal drafted from a known clip (404 for an unknown one)."""
    decision = find_decision(context, proposal.clip_id)
    label = proposal.label.value
    conditions = proposal.conditions or prefill_conditions(decision, label)
    if not conditions:
        raise HTTPException(
            422, f"{proposal.clip_id} has no evidence cues to draft conditions from; send 'conditions'."
        )
    english, vietnamese = default_rationale(decision, label, proposal.reviewer)
    rule = build_rule(
        decision,
        proposal.label,
        proposal.reviewer,
        conditions,
        rationale_en=proposal.rationale_en or english,
        rationale_vi=proposal.rationale_vi or vietnamese,
    )
    return context.store.add_proposal(
        proposal.clip_id, proposal.reviewer, rule.model_dump(mode="json", exclude_none=True)
    )


def clip_detail(context: ReviewContext, decision: Decision) -> ClipDetail:
    """Everything the clip page and ``GET /api/clips/{clip_id}`` show."""
    clip_id = decision.clip_id
    return ClipDetail(
        decision=decision,
        transcript=context.run.transcripts.get(clip_id),
        audio_url=clip_url("/audio", clip_id) if has_audio(context, decision) else None,
        in_queue=needs_review(decision, context.settings.low_confidence),
        reviews=context.store.reviews(clip_id=clip_id),
        proposal_prefill={label: prefill_conditions(decision, label) for label in CLASSES},
    )


@router.get("/health", tags=["service"])
def health(context: ReviewContext = Depends(get_context)) -> Health:
    """Liveness: the run is loaded and the store answers."""
    return Health(status="ok", clips=len(context.run.decisions), queue=len(context.queue().items))


@router.post(
    "/api/predict",
    tags=["prediction"],
    dependencies=[Depends(verify_csrf)],
    responses={
        413: {"description": "file too large"},
        415: {"description": "not wav/flac/ogg/mp3"},
        422: {"description": "empty, corrupt, silent, too short or too long audio"},
        503: {"description": "the run's model cannot be loaded"},
    },
)
def predict(file: UploadFile = File(...), context: ReviewContext = Depends(get_context)) -> Decision:
    """Classify one uploaded recording (wav, flac, ogg or mp3) with the run's pipeline."""
    name = display_name(file.filename)
    with tempfile.TemporaryDirectory(prefix="vietser-upload-") as folder:
        saved = save_upload(file.file, name, Path(folder), context.settings.max_upload_bytes)
        try:
            check_duration(saved, name, context.settings.max_duration_s)
            decision = context.predictor(saved)
        except AudioError as exc:
            raise HTTPException(422, audio_error_message(exc, saved, name)) from exc
        except VietserError as exc:
            raise HTTPException(503, f"prediction is unavailable for this run: {exc}") from exc
    return decision.model_copy(update={"clip_id": name, "path": None})


@router.get("/api/queue", tags=["review"])
def queue(
    reviewer: str | None = Query(default=None, pattern=REVIEWER_PATTERN),
    context: ReviewContext = Depends(get_context),
) -> Queue:
    """Delegated and low-confidence clips, most uncertain first, with progress."""
    return context.queue(reviewer)


@router.get("/api/clips/{clip_id:path}", tags=["review"])
def clip(clip_id: str, context: ReviewContext = Depends(get_context)) -> ClipDetail:
    """One clip's decision, evidence, transcript, reviews and rule-proposal drafts."""
    return clip_detail(context, find_decision(context, clip_id))


@router.get("/api/calls", tags=["calls"])
def calls(context: ReviewContext = Depends(get_context)) -> list[str]:
    """The ids of the calls given with ``--calls``, in the order they were read."""
    return list(context.run.calls)


@router.get("/api/calls/{call_id}", tags=["calls"])
def call(call_id: str, context: ReviewContext = Depends(get_context)) -> CallTimeline:
    """One call's timeline: its channels, their segments in time order, each with its latest review."""
    return timeline_of(context, call_id)


@router.post("/api/reviews", tags=["review"], status_code=201, dependencies=[Depends(verify_csrf)])
def add_review(review: ReviewIn, context: ReviewContext = Depends(get_context)) -> Review:
    """Record a label; earlier reviews are kept (append-only)."""
    return record_review(context, review)


@router.get("/api/reviews", tags=["review"])
def reviews(
    clip_id: str | None = None,
    reviewer: str | None = None,
    context: ReviewContext = Depends(get_context),
) -> list[Review]:
    """All reviews in the order they were made, optionally filtered."""
    return context.store.reviews(clip_id=clip_id, reviewer=reviewer)


@router.get("/api/rules", tags=["rules"])
def rules(context: ReviewContext = Depends(get_context)) -> Rulebook:
    """The run's rulebook (the rulebook.yaml it was made with)."""
    if context.rulebook is None:
        raise HTTPException(404, "this run has no rulebook.yaml")
    return context.rulebook


@router.post("/api/rule-proposals", tags=["rules"], status_code=201, dependencies=[Depends(verify_csrf)])
def add_rule_proposal(proposal: ProposalIn, context: ReviewContext = Depends(get_context)) -> RuleProposal:
    """Propose a rule from a clip; without conditions they are drafted from its strongest cues."""
    return record_proposal(context, proposal)


@router.get("/api/rule-proposals", tags=["rules"])
def rule_proposals(context: ReviewContext = Depends(get_context)) -> list[RuleProposal]:
    """All rule proposals in the order they were made."""
    return context.store.proposals()


@router.get("/api/export", tags=["review"], response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export(context: ReviewContext = Depends(get_context)) -> Response:
    """The run's manifest with one ``annotator_<reviewer>`` column per reviewer (latest label)."""
    frame = export_manifest(context.run, context.store.reviews())
    return Response(
        frame.to_csv(index=False),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="manifest.reviewed.csv"'},
    )
