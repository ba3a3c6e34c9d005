"""Evaluation: metrics with bootstrap intervals, system comparisons, annotator agreement, plots and the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vietser.exports import lazy_exports

if TYPE_CHECKING:
    from vietser.evaluate.agreement import AgreementReport
    from vietser.evaluate.agreement import agreement_report
    from vietser.evaluate.agreement import item_agreement
    from vietser.evaluate.bootstrap import Interval
    from vietser.evaluate.bootstrap import McNemarResult
    from vietser.evaluate.bootstrap import PairedBootstrap
    from vietser.evaluate.bootstrap import bootstrap_ci
    from vietser.evaluate.bootstrap import mcnemar
    from vietser.evaluate.bootstrap import paired_bootstrap
    from vietser.evaluate.calibration import brier_score
    from vietser.evaluate.calibration import expected_calibration_error
    from vietser.evaluate.metrics import Metrics
    from vietser.evaluate.metrics import compute_metrics
    from vietser.evaluate.metrics import score
    from vietser.evaluate.report import ReportFiles
    from vietser.evaluate.report import write_report
    from vietser.evaluate.sections import ReportSection

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "AgreementReport": "vietser.evaluate.agreement",
        "agreement_report": "vietser.evaluate.agreement",
        "item_agreement": "vietser.evaluate.agreement",
        "Interval": "vietser.evaluate.bootstrap",
        "McNemarResult": "vietser.evaluate.bootstrap",
        "PairedBootstrap": "vietser.evaluate.bootstrap",
        "bootstrap_ci": "vietser.evaluate.bootstrap",
        "mcnemar": "vietser.evaluate.bootstrap",
        "paired_bootstrap": "vietser.evaluate.bootstrap",
        "brier_score": "vietser.evaluate.calibration",
        "expected_calibration_error": "vietser.evaluate.calibration",
        "Metrics": "vietser.evaluate.metrics",
        "compute_metrics": "vietser.evaluate.metrics",
        "score": "vietser.evaluate.metrics",
        "ReportFiles": "vietser.evaluate.report",
        "write_report": "vietser.evaluate.report",
        "ReportSection": "vietser.evaluate.sections",
    },
)
