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
    its original votes for clips that reviewer has not reviewed here.
    """
    if run.manifest is not None:
        frame, row_ids = run.manifest.copy(), list(run.manifest_clip_ids)
    else:
        frame = pd.DataFrame([_row(d) for d in run.decisions.values()], columns=_COLUMNS, dtype=str)
        row_ids = list(run.decisions)
    missing = [clip for clip in dict.fromkeys(r.clip_id for r in reviews) if clip not in row_ids]
    extra = [_row(run.decisions[clip]) for clip in missing if clip in run.decisions]
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True).fillna("")
        row_ids += [clip for clip in missing if clip in run.decisions]
    latest = latest_labels(reviews)
    for reviewer in sorted({r.reviewer for r in reviews}):
        column = ANNOTATOR_PREFIX + reviewer
        old = frame[column].tolist() if column in frame.columns else [""] * len(frame)
        frame[column] = [latest.get((clip, reviewer), before) if clip else before for clip, before in zip(row_ids, old)]
    return frame


def _row(decision: Decision) -> dict[str, str]:
    return {
        "path": decision.path or decision.clip_id,
        "label": decision.true_label or "",
        "speaker": decision.speaker or "",
        "split": decision.split or "",
    }
