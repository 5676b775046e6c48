"""Vigia's detection: nine red-flag indicators, peer baselines, scoring and pt-BR explanations.

Pure code, no I/O: :func:`run_suite` takes contracts (:class:`shared.domain.Contract`), the CEIS/
CNEP mirror and a :class:`DetectionConfig`, and returns findings per contract, risk scores,
órgão-level findings and counts of contracts each indicator could not evaluate. ``REGISTRY``
lists the indicators; ``DETECTOR_VERSION`` changes whenever a formula, threshold or legal table
does. :func:`summarize_template` writes the deterministic pt-BR summary of an investigation.
"""

from __future__ import annotations

from shared.detection.base import IndicatorSpec
from shared.detection.config import DetectionConfig
from shared.detection.registry import BY_CODE, REGISTRY, detector_version
from shared.detection.scoring import risk_score
from shared.detection.suite import SuiteResult, run_suite
from shared.detection.summary import summarize_template

DETECTOR_VERSION: str = detector_version(DetectionConfig())

__all__ = [
    "BY_CODE",
    "DETECTOR_VERSION",
    "REGISTRY",
    "DetectionConfig",
    "IndicatorSpec",
    "SuiteResult",
    "detector_version",
    "risk_score",
    "run_suite",
    "summarize_template",
]
