"""Detection quality against the simulator's planted anomalies: recall, look-alike false alarms, clean flag rate.

For a per-contract indicator, recall is the share of the contracts planted for it that carry its
finding; the look-alike false-alarm rate is the share of the lawful look-alikes built for it
(``ground_truth.lookalikes``) that carry its finding — at any severity, except that an
amendment finding counts only from medium and a sanction finding only from high, since a low
amendment states its doubt and a low sanction is "has a record", which is true; and the clean
flag rate is the share of clean contracts (no planted anomaly or look-alike of any kind) that
carry it anyway. For an órgão-level indicator both are counted in (órgão, year) pairs: the
planted pairs found, and the clean pairs large enough to be evaluated that were flagged.

``python -m shared.evaluation.quality [--seed 7] [--scale 1.0]`` prints the table in Markdown, as
docs/detection.md shows it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from shared.detection.config import DetectionConfig
from shared.detection.registry import REGISTRY
from shared.detection.suite import SuiteResult, run_suite
from shared.domain import Contract, Sanction, Severity, Source
from shared.portal.models import parse_contract, parse_sanction
from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.dataset import generate_dataset

# A look-alike counts as a false alarm from this severity on (any severity for the others).
FALSE_ALARM_FLOOR = {"amendment_over_limit": Severity.MEDIUM, "sanctioned_supplier": Severity.HIGH}


@dataclass(frozen=True, slots=True)
class QualityRow:
    code: str
    scope: str
    planted: int
    found: int
    clean: int
    clean_flagged: int
    lookalikes: int = 0
    lookalike_flagged: int = 0

    @property
    def lookalike_rate(self) -> float:
        return self.lookalike_flagged / self.lookalikes if self.lookalikes else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else float("nan")

    @property
    def clean_rate(self) -> float:
        return self.clean_flagged / self.clean if self.clean else 0.0


def measure(dataset: SimDataset, contracts: Sequence[Contract], result: SuiteResult,
            config: DetectionConfig | None = None) -> list[QualityRow]:
    config = config or DetectionConfig()
    truth = dataset.ground_truth
    clean = set(truth.clean)
    sizes: Counter[tuple[str, int]] = Counter()
    benford_sizes: Counter[tuple[str, int]] = Counter()
    for c in contracts:
        if c.orgao_codigo and c.data_assinatura and c.valor_inicial is not None and c.valor_inicial > 0:
            key = (c.orgao_codigo, c.data_assinatura.year)
            sizes[key] += 1
            if c.valor_inicial >= config.benford_deviation.min_value:
                benford_sizes[key] += 1
    minimum = {"supplier_concentration": (sizes, config.supplier_concentration.min_contracts),
               "benford_deviation": (benford_sizes, config.benford_deviation.min_values)}
    rows = []
    for spec in REGISTRY:
        if spec.scope == "contract":
            flagged = result.flagged(spec.code)
            planted = set(truth.contracts.get(spec.code, []))
            look = set(truth.lookalikes.get(spec.code, []))
            floor = FALSE_ALARM_FLOOR.get(spec.code, Severity.LOW)
            alarms = {cid for cid in look for f in result.findings_by_contract.get(cid, ())
                      if f.indicator == spec.code and f.severity.rank >= floor.rank}
            rows.append(QualityRow(spec.code, "contrato", len(planted), len(flagged & planted), len(clean),
                                   len(flagged & clean), len(look), len(alarms)))
            continue
        flagged_pairs = {key for key, findings in result.orgao_findings.items() if any(f.indicator == spec.code for f in findings)}
        planted_pairs = {(o, y) for o, y in truth.orgao_years.get(spec.code, [])}
        counts, least = minimum[spec.code]
        evaluable = {key for key, n in counts.items() if n >= least} - planted_pairs
        rows.append(QualityRow(spec.code, "órgão-ano", len(planted_pairs), len(flagged_pairs & planted_pairs),
                               len(evaluable), len(flagged_pairs & evaluable)))
    return rows


def table(rows: Sequence[QualityRow]) -> str:
    lines = ["| indicator | unit | planted | recall | look-alike false alarms | clean flagged | clean flag rate |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        look = f"{r.lookalike_flagged} / {r.lookalikes} ({r.lookalike_rate:.1%})" if r.lookalikes else "—"
        lines.append(f"| {r.code} | {r.scope} | {r.planted} | {r.recall:.3f} | {look} | {r.clean_flagged} / {r.clean} "
                     f"| {r.clean_rate:.2%} |")
    return "\n".join(lines)


def evaluate_dataset(dataset: SimDataset, config: DetectionConfig | None = None) -> tuple[list[QualityRow], SuiteResult]:
    """Parse the data set as the Portal client would, run the suite, measure it."""
    contracts = [parse_contract(raw, source=Source.SIMULATOR) for raw in dataset.contracts]
    sanctions: list[Sanction] = [parse_sanction(raw, "ceis", source=Source.SIMULATOR) for raw in dataset.ceis]
    sanctions += [parse_sanction(raw, "cnep", source=Source.SIMULATOR) for raw in dataset.cnep]
    result = run_suite(contracts, sanctions=sanctions, config=config)
    return measure(dataset, contracts, result, config), result


def main() -> None:
    parser = argparse.ArgumentParser(description="Detection quality on the simulator's planted data set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    dataset = generate_dataset(args.seed, scale=args.scale)
    rows, result = evaluate_dataset(dataset)
    print(f"seed {args.seed}, scale {args.scale}: {len(dataset.contracts)} contracts, "
          f"{len(dataset.ground_truth.clean)} clean; detector {result.detector_version}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
