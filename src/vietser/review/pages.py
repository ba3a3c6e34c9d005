"""Server-rendered review pages (Jinja2), form posts, audio and login."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import PackageLoader, StrictUndefined
from pydantic import ValidationError

from vietser.labels import CLASSES, VIETNAMESE_NAMES
from vietser.review.api import (
    REVIEWER_PATTERN,
    ProposalIn,
    ReviewIn,
    clip_detail,
    clip_url,
    find_call,
    find_decision,
    record_proposal,
    record_review,
    timeline_of,
)
from vietser.review.calls import segment_wav
from vietser.review.context import ReviewContext, get_context
from vietser.review.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    constant_time_equal,
    csrf_token,
    session_value,
    set_cookie,
    verify_csrf,
)
from vietser.templating import render as render_template
from vietser.templating import sandboxed_environment

REVIEWER_COOKIE = "vietser_reviewer"
MEDIA_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
# Pages load only their own script and stylesheet: nothing inline, nothing external.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

_TEMPLATES = sandboxed_environment(
    loader=PackageLoader("vietser.review", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.globals.update(CLASSES=CLASSES, VIETNAMESE_NAMES=VIETNAMESE_NAMES, clip_url=clip_url)

router = APIRouter(include_in_schema=False)
FormModel = TypeVar("FormModel", ReviewIn, ProposalIn)


def render(request: Request, template: str, status_code: int = 200, **values: object) -> HTMLResponse:
    """A page with this browser's CSRF token in it (and in a cookie when new)."""
    token, is_new = csrf_token(request)
    html = render_template(
        _TEMPLATES.get_template(template),
        {
            "csrf_token": token,
            "run_name": get_context(request).run.run_dir.name,
            "reviewer": current_reviewer(request),
            **values,
        },
    )
    response = HTMLResponse(
        html,
        status_code=status_code,
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"},
    )
    if is_new:
        set_cookie(response, request, CSRF_COOKIE, token)
    return response


def current_reviewer(request: Request) -> str | None:
    """The reviewer name this browser last submitted under, if valid."""
    name = request.cookies.get(REVIEWER_COOKIE, "")
    return name if re.match(REVIEWER_PATTERN, name) else None


def _validated(model: type[FormModel], **fields: object) -> FormModel:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors())
        raise HTTPException(422, f"the form was not saved: {problems}") from exc


@router.get("/")
def queue_page(request: Request, context: ReviewContext = Depends(get_context)) -> HTMLResponse:
    """Clips to review, most uncertain first, with progress and agreement."""
    queue = context.queue(current_reviewer(request))
    calls = list(context.run.calls.values())
    return render(request, "queue.html.j2", queue=queue, next_clip=queue.next_clip(), calls=calls)


@router.get("/clips/{clip_id:path}")
def clip_page(
    clip_id: str, request: Request, proposed: int | None = None, context: ReviewContext = Depends(get_context)
) -> HTMLResponse:
    """One clip: audio, evidence, probabilities, the reasoner's answer, label and rule forms."""
    detail = clip_detail(context, find_decision(context, clip_id))
    queue = context.queue(current_reviewer(request))
    ids = [item.clip_id for item in queue.items]
    rules = {rule.id: rule for rule in context.rulebook.rules} if context.rulebook else {}
    return render(
        request,
        "clip.html.j2",
        detail=detail,
        decision=detail.decision,
        position=ids.index(clip_id) + 1 if clip_id in ids else None,
        queue=queue,
        rules_fired=[(rule_id, rules.get(rule_id)) for rule_id in detail.decision.rules_applied],
        prefill={
            label: [c.model_dump(exclude_none=True) for c in conditions]
            for label, conditions in detail.proposal_prefill.items()
        },
        proposed=proposed,
    )


def review_form(
    clip_id: str = Form(""), label: str = Form(""), note: str = Form(""), reviewer: str = Form("")
) -> ReviewIn:
    """The review a page's form posts, validated."""
    return _validated(ReviewIn, clip_id=clip_id, label=label, note=note, reviewer=reviewer.strip())


@router.post("/review", dependencies=[Depends(verify_csrf)])
def submit_review(
    request: Request, review: ReviewIn = Depends(review_form), context: ReviewContext = Depends(get_context)
) -> RedirectResponse:
    """Save a label from the clip page, then go to the reviewer's next clip (or the queue)."""
    record_review(context, review)
    following = context.queue(review.reviewer).next_clip(after=review.clip_id)
    target = clip_url("/clips", following) if following else "/"
    return _as_reviewer(RedirectResponse(target, status_code=303), request, review)


def _as_reviewer(response: RedirectResponse, request: Request, review: ReviewIn) -> RedirectResponse:
    set_cookie(response, request, REVIEWER_COOKIE, review.reviewer)
    return response


@router.get("/calls/{call_id}")
def call_page(call_id: str, request: Request, context: ReviewContext = Depends(get_context)) -> HTMLResponse:
    """One call: a timeline per channel, segments coloured by label; a click plays a segment and picks it
    for the correction form."""
    return render(request, "call.html.j2", timeline=timeline_of(context, call_id))


@router.post("/calls/{call_id}/review", dependencies=[Depends(verify_csrf)])
def submit_call_review(
    call_id: str,
    request: Request,
    review: ReviewIn = Depends(review_form),
    context: ReviewContext = Depends(get_context),
) -> RedirectResponse:
    """Save a label for one segment from the call page (as a review of that segment), then back to the call."""
    if review.clip_id not in find_call(context, call_id).segments:
        raise HTTPException(404, f"{review.clip_id!r} is not a segment of call {call_id!r}")
    record_review(context, review)
    target = f"{clip_url('/calls', call_id)}#{quote(review.clip_id, safe='')}"
    return _as_reviewer(RedirectResponse(target, status_code=303), request, review)


@router.post("/propose", dependencies=[Depends(verify_csrf)])
def submit_proposal(
    clip_id: str = Form(""),
    reviewer: str = Form(""),
    label: str = Form(""),
    feature: list[str] = Form([]),
    op: list[str] = Form([]),
    value: list[str] = Form([]),
    include: list[str] = Form([]),
    rationale_en: str = Form(""),
    rationale_vi: str = Form(""),
    context: ReviewContext = Depends(get_context),
) -> RedirectResponse:
    """Save a rule proposal from the clip page and return to the clip."""
    rows = zip(feature, op, value)
    conditions = [
        {"feature": f.strip(), "op": o, "value": v, "scale": "z"}
        for index, (f, o, v) in enumerate(rows)
        if str(index) in include
    ]
    proposal = _validated(
        ProposalIn,
        clip_id=clip_id,
        reviewer=reviewer.strip(),
        label=label,
        conditions=conditions,
        rationale_en=rationale_en.strip() or None,
        rationale_vi=rationale_vi.strip() or None,
    )
    saved = record_proposal(context, proposal)
    return RedirectResponse(f"{clip_url('/clips', clip_id)}?proposed={saved.id}", status_code=303)


@router.get("/audio/{clip_id:path}")
def audio(clip_id: str, context: ReviewContext = Depends(get_context)) -> Response:
    """The audio of a clip of this run, looked up by id (never by a path from the request); for a segment
    of a call, that stretch of its channel."""
    decision = context.run.decisions.get(clip_id)
    if decision is not None and decision.call_id is not None:
        record = context.run.calls[decision.call_id]
        if record.audio is None or not record.audio.is_file():
            raise HTTPException(404, f"the recording of call {decision.call_id!r} ({record.summary.path}) was not found")
        wav = segment_wav(
            record.audio,
            record.channel_index(decision.channel),
            decision.start_s or 0.0,
            decision.end_s or 0.0,
            context.settings.max_duration_s,
        )
        return Response(wav, media_type="audio/wav")
    path: Path | None = context.run.audio_paths.get(clip_id)
    if path is None or not path.is_file():
        raise HTTPException(404, "no audio for this clip id in this run")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix.lower()])


@router.get("/login")
def login(request: Request, token: str | None = None, context: ReviewContext = Depends(get_context)) -> Response:
    """``/login?token=...`` sets the session cookie; ``/login`` alone shows a form asking for the token."""
    expected = context.settings.reviewer_token
    if expected is None:
        return RedirectResponse("/", status_code=303)
    if token is None:
        return render(request, "login.html.j2", error=None)
    if not constant_time_equal(token, expected):
        return render(request, "login.html.j2", status_code=401, error="That token is not this server's token.")
    response = RedirectResponse("/", status_code=303)
    set_cookie(response, request, SESSION_COOKIE, session_value(expected))
    return response
