"""Reviews as a manifest with one ``annotator_<reviewer>`` column per reviewer.

The result loads as an ordinary manifest, so human reviews feed Fleiss' kappa,
rule induction and refinement like any other annotation.
"""

from __future__ import annotations

import pandas as pd

from vietser.decision import Decision
from vietser.labels import ANNOTATOR_PREFIX
from vietser.review.queue import latest_labels
from vietser.review.rundir import RunData
from vietser.review.store import Review

_COLUMNS = ["path", "label", "speaker", "split"]


def export_manifest(run: RunData, reviews: list[Review]) -> pd.DataFrame:
    """The run's manifest plus each reviewer's latest label per clip (empty = no vote).

    Paths stay as the run's manifest wrote them (relative ones are relative to
    the run directory). A reviewer column that the manifest already has keeps
    its original votes for clips that reviewer has not reviewed here. Segments
    of calls are left out: a manifest row is a whole file, a segment a stretch
    of one (their reviews are in ``GET /api/reviews`` and each call's timeline).
    """
    if run.manifest is not None:
        frame, row_ids = run.manifest.copy(), list(run.manifest_clip_ids)
    else:
        row_ids = [clip for clip in run.decisions if _is_clip(run, clip)]
        frame = pd.DataFrame([_row(run.decisions[clip]) for clip in row_ids], columns=_COLUMNS, dtype=str)
    missing = [clip for clip in dict.fromkeys(r.clip_id for r in reviews) if clip not in row_ids and _is_clip(run, clip)]
    if missing:
        frame = pd.concat([frame, pd.DataFrame([_row(run.decisions[clip]) for clip in missing])], ignore_index=True)
        frame = frame.fillna("")
        row_ids += missing
    latest = latest_labels(reviews)
    for reviewer in sorted({r.reviewer for r in reviews}):
        column = ANNOTATOR_PREFIX + reviewer
        old = frame[column].tolist() if column in frame.columns else [""] * len(frame)
        frame[column] = [latest.get((clip, reviewer), before) if clip else before for clip, before in zip(row_ids, old)]
    return frame


def _is_clip(run: RunData, clip_id: str) -> bool:
    return clip_id in run.decisions and run.decisions[clip_id].call_id is None


def _row(decision: Decision) -> dict[str, str]:
    return {
        "path": decision.path or decision.clip_id,
        "label": decision.true_label or "",
        "speaker": decision.speaker or "",
        "split": decision.split or "",
    }
