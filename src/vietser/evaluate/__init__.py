"""Evaluation: metrics with bootstrap intervals, system comparisons, annotator agreement, plots and the report."""

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

__all__ = [
    "AgreementReport",
    "Interval",
    "McNemarResult",
    "Metrics",
    "PairedBootstrap",
    "ReportFiles",
    "ReportSection",
    "agreement_report",
    "bootstrap_ci",
    "brier_score",
    "compute_metrics",
    "expected_calibration_error",
    "item_agreement",
    "mcnemar",
    "paired_bootstrap",
    "score",
    "write_report",
]
