"""What the pipeline tests expect, computed straight from the simulator's data set.

:func:`expected_flags` runs the detection suite per órgão over the data set's contracts, parsed
exactly as the Portal client parses them, with every sanction: the investigations a full
monitoring cycle must leave (one per flagged contract, nothing more, nothing lost).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from shared.domain import Contract, Source
from shared.portal.simulator.data import SimDataset


def parsed_contracts(dataset: SimDataset) -> list[Contract]:
    from shared.portal.models import parse_contract

    return [parse_contract(raw, source=Source.SIMULATOR) for raw in dataset.contracts]


def parsed_sanctions(dataset: SimDataset) -> list[Any]:
    from shared.portal.models import parse_sanction

    return ([parse_sanction(raw, "ceis", source=Source.SIMULATOR) for raw in dataset.ceis]
            + [parse_sanction(raw, "cnep", source=Source.SIMULATOR) for raw in dataset.cnep])


def expected_flags(dataset: SimDataset, *, with_sanctions: bool = True) -> dict[int, set[str]]:
    """Contract id -> indicators that flag it, analysed órgão by órgão as the pipeline does."""
    from shared.detection import run_suite

    sanctions = parsed_sanctions(dataset) if with_sanctions else []
    by_orgao: dict[str, list[Contract]] = defaultdict(list)
    for contract in parsed_contracts(dataset):
        by_orgao[contract.orgao_codigo or ""].append(contract)
    flags: dict[int, set[str]] = {}
    for contracts in by_orgao.values():
        suite = run_suite(contracts, sanctions=sanctions)
        for cid, findings in suite.findings_by_contract.items():
            flags[cid] = {f.indicator for f in findings}
    return flags
