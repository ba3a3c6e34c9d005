"""Decisions as a flat table (one row per clip) for spreadsheets: CSV beside the JSON Lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vietser.decision import SEGMENT_FIELDS, Decision
from vietser.labels import CLASSES

LEADING_COLUMNS: tuple[str, ...] = (
    "clip_id",
    "path",
    "speaker",
    "split",
    "true_label",
    "label",
    "reasoner",
    "route",
    "confidence",
    "fallback",
    "fallback_reason",
    "acoustic_label",
)


def decisions_table(decisions: Sequence[Decision]) -> pd.DataFrame:
    """One row per decision: who decided what, ``p_<class>`` (the deciding system's probabilities) and
    ``acoustic_p_<class>``, the rules applied (``;``-separated), the domain fields, the rationale, and the
    segment fields when any decision has them."""
    segments = [name for name in SEGMENT_FIELDS if any(getattr(d, name) is not None for d in decisions)]
    columns = [
        *LEADING_COLUMNS,
        *(f"p_{name}" for name in CLASSES),
        *(f"acoustic_p_{name}" for name in CLASSES),
        "rules_applied",
        "out_of_domain",
        "ood_score",
        *segments,
        "rationale",
    ]
    rows = [
        {
            **{name: getattr(d, name) for name in LEADING_COLUMNS},
            "route": d.route.value,
            **{f"p_{name}": d.probabilities.get(name) for name in CLASSES},
            **{f"acoustic_p_{name}": d.acoustic_probabilities.get(name) for name in CLASSES},
            "rules_applied": ";".join(d.rules_applied),
            "out_of_domain": d.out_of_domain,
            "ood_score": d.ood_score,
            **{name: getattr(d, name) for name in segments},
            "rationale": d.rationale,
        }
        for d in decisions
    ]
    return pd.DataFrame(rows, columns=columns)


def write_decisions_csv(decisions: Sequence[Decision], path: str | Path) -> Path:
    """Write :func:`decisions_table` as UTF-8 CSV (Vietnamese rationales keep their diacritics)."""
    target = Path(path)
    decisions_table(decisions).to_csv(target, index=False, encoding="utf-8")
    return target
