"""Run every enabled indicator over a batch of contracts and collect findings, scores and gaps.

:func:`run_suite` is the one entry point the pipelines call. It prepares the batch once, runs the
indicators in registry order, groups contract findings by contract id (ascending) with each
contract's findings in registry order, scores each flagged contract, and keys órgão-level
findings by ``(órgão, year)``. ``focus`` limits which contracts receive findings while the whole
batch still informs peer groups, windows and órgão totals (for example: analyse the new
contracts, with the órgão's last year of contracts as context). Pure: no I/O, no clock in the
output except the per-indicator timings.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.detection.base import Context
from shared.detection.baselines import Key, PeerStats
from shared.detection.batch import prepare
from shared.detection.config import DetectionConfig
from shared.detection.registry import REGISTRY, detector_version
from shared.detection.scoring import risk_score
from shared.domain import Contract, Finding, Sanction


@dataclass(slots=True)
class SuiteResult:
    """What one run of the suite found. Contracts absent from ``risk_scores`` scored 0 (no findings)."""

    detector_version: str
    contracts_evaluated: int
    findings_by_contract: dict[int, list[Finding]] = field(default_factory=dict)
    risk_scores: dict[int, float] = field(default_factory=dict)
    orgao_findings: dict[tuple[str, int], list[Finding]] = field(default_factory=dict)
    insufficient: dict[str, int] = field(default_factory=dict)  # per indicator: contracts it could not evaluate
    insufficient_reasons: dict[str, dict[str, int]] = field(default_factory=dict)  # per indicator: named causes
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step, for benchmarks

    def flagged(self, code: str) -> set[int]:
        """Ids of contracts carrying a finding of one indicator."""
        return {cid for cid, findings in self.findings_by_contract.items() if any(f.indicator == code for f in findings)}


def run_suite(
    contracts: Sequence[Contract] | Iterable[Contract],
    *,
    sanctions: Sequence[Sanction] = (),
    config: DetectionConfig | None = None,
    focus: Iterable[int] | None = None,
    price_baselines: Mapping[tuple[int, Key], PeerStats] | None = None,
    sanctions_loaded: bool | None = None,
    amendments: Mapping[int, tuple[str, ...] | None] | None = None,
    first_vigencia: Mapping[int, tuple[date | None, date | None]] | None = None,
) -> SuiteResult:
    """``sanctions_loaded`` False says no CEIS/CNEP mirror exists (distinct from none matching);
    ``amendments`` and ``first_vigencia`` feed the amendment indicator (see :class:`Context`)."""
    config = config or DetectionConfig()
    started = time.perf_counter()
    batch = prepare(contracts, focus=focus)
    context = Context(sanctions=tuple(sanctions), price_baselines=price_baselines, sanctions_loaded=sanctions_loaded,
                      amendments=amendments, first_vigencia=first_vigencia)
    evaluated = len(batch) if batch.focus is None else sum(1 for c in batch.contracts if c.id in batch.focus)
    result = SuiteResult(detector_version=detector_version(config), contracts_evaluated=evaluated)
    result.timings["prepare"] = time.perf_counter() - started
    by_contract: dict[int, list[Finding]] = defaultdict(list)
    by_orgao: dict[tuple[str, int], list[Finding]] = defaultdict(list)
    for spec in REGISTRY:
        indicator_config = config.for_indicator(spec.code)
        if not getattr(indicator_config, "enabled", True):
            continue
        step = time.perf_counter()
        outcome = spec.evaluate(batch, context, indicator_config)
        result.timings[spec.code] = time.perf_counter() - step
        result.insufficient[spec.code] = outcome.insufficient
        if outcome.reasons:
            result.insufficient_reasons[spec.code] = dict(outcome.reasons)
        for finding in outcome.contract_findings:
            assert finding.contract_id is not None
            by_contract[finding.contract_id].append(finding)
        for finding in outcome.orgao_findings:
            year = int(finding.baseline["ano"])
            by_orgao[(finding.orgao_codigo or "", year)].append(finding)
    boost = config.scoring.direct_award_boost
    for contract_id in sorted(by_contract):
        findings = by_contract[contract_id]
        result.findings_by_contract[contract_id] = findings
        result.risk_scores[contract_id] = risk_score(findings, direct_award_boost=boost)
    result.orgao_findings = {key: by_orgao[key] for key in sorted(by_orgao)}
    result.timings["total"] = time.perf_counter() - started
    return result
