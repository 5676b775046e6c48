"""Throughput and memory of the whole detection suite on a million generated contracts.

Generates ``--contracts`` contracts spread over ``--orgaos`` órgãos with the simulator's
``big_orgao_contracts`` (log-normal values by object class, pregões, dispensas, inexigibilidades,
amendments, six years), turns them into :class:`shared.domain.Contract` with a lean converter
(dates and Decimal money as the Portal parser makes them, but without keeping the raw JSON or
hashing it, as a loader reading the store's columns would), builds a CEIS/CNEP mirror where one
supplier in fifty is sanctioned (plus 20 000 sanctions of
others), then runs :func:`shared.detection.run_suite` once over all of
them in this single process (one core). Prints wall and CPU seconds, contracts per second, the
time of each indicator, and peak RSS before and after the suite.

    .venv/bin/python benchmarks/detect.py [--contracts 1000000] [--orgaos 40] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from shared.detection import run_suite  # noqa: E402
from shared.domain import Contract, Sanction, Source  # noqa: E402
from shared.portal.simulator.dataset import big_orgao_contracts, digits  # noqa: E402
from shared.portal.wire import parse_date  # noqa: E402

_EMPTY: dict[str, Any] = {}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


def to_contract(rec: dict[str, Any], strings: dict[str, str]) -> Contract:
    """A Contract from a ContratoDTO dict; repeated texts share one string, as a store loader can."""
    ug = rec["unidadeGestora"]
    orgao = ug["orgaoVinculado"]
    sup = rec["fornecedor"]

    def s(text: str | None) -> str | None:
        return None if text is None else strings.setdefault(text, text)

    return Contract(
        id=rec["id"],
        source=Source.SIMULATOR,
        numero=rec["numero"],
        objeto=s(rec["objeto"]),
        fundamento_legal=s(rec["fundamentoLegal"]),
        modalidade_compra=s(rec["modalidadeCompra"]),
        orgao_codigo=s(orgao["codigoSIAFI"]),
        orgao_nome=s(orgao["nome"]),
        ug_codigo=s(ug["codigo"]),
        fornecedor_documento=s(digits(sup["cnpjFormatado"] or sup["cpfFormatado"])),
        fornecedor_nome=s(sup["nome"]),
        data_assinatura=parse_date(rec["dataAssinatura"]),
        data_publicacao_dou=parse_date(rec["dataPublicacaoDOU"]),
        valor_inicial=Decimal(repr(rec["valorInicialCompra"])),
        valor_final=Decimal(repr(rec["valorFinalCompra"])),
        raw=_EMPTY,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=1_000_000)
    parser.add_argument("--orgaos", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    strings: dict[str, str] = {}
    contracts: list[Contract] = []
    per_orgao = args.contracts // args.orgaos
    for k in range(args.orgaos):
        n = per_orgao if k < args.orgaos - 1 else args.contracts - per_orgao * (args.orgaos - 1)
        code = f"{26_000 + 7 * k + 201}"
        contracts.extend(to_contract(rec, strings) for rec in big_orgao_contracts(code, n, args.seed))
    suppliers = sorted({c.fornecedor_documento for c in contracts if c.fornecedor_documento})
    rng = random.Random(args.seed)
    sanctions = []
    for n, doc in enumerate(rng.sample(suppliers, k=max(1, len(suppliers) // 50))):
        start = date(2021, 1, 1) + timedelta(days=rng.randint(0, 1800))
        sanctions.append(Sanction(id=str(n), lista=rng.choice(["CEIS", "CNEP"]), documento=doc, nome=None,
                                  tipo="Impedimento", data_inicio=start, data_fim=start + timedelta(days=rng.randint(180, 900)),
                                  orgao_sancionador="Controladoria-Geral da União", nacional=rng.random() < 0.3))
    # The real CEIS + CNEP hold tens of thousands of records, most about companies not in the batch.
    for n in range(20_000):
        start = date(2015, 1, 1) + timedelta(days=rng.randint(0, 4000))
        sanctions.append(Sanction(id=f"x{n}", lista="CEIS", documento=f"{rng.randrange(10**13, 10**14)}", nome=None,
                                  tipo="Suspensão", data_inicio=start, data_fim=None, orgao_sancionador="Prefeitura"))
    generated = time.perf_counter() - started
    before_rss, before_peak = rss_mb(), peak_rss_mb()
    print(f"generated {len(contracts):,} contracts, {len(suppliers):,} suppliers, {len(sanctions):,} sanctions "
          f"in {generated:.1f} s; RSS {before_rss:.0f} MB (peak so far {before_peak:.0f} MB)")

    wall, cpu = time.perf_counter(), time.process_time()
    result = run_suite(contracts, sanctions=sanctions)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after_peak = peak_rss_mb()

    print(f"suite: {wall:.1f} s wall, {cpu:.1f} s CPU -> {len(contracts) / wall:,.0f} contracts/s "
          f"({len(contracts) / cpu:,.0f} per CPU-second)")
    print(f"peak RSS {after_peak:.0f} MB for the whole process (contracts in memory: {before_rss:.0f} MB; "
          f"the suite added at most {after_peak - max(before_rss, before_peak):.0f} MB over the earlier peak)")
    print("seconds per step: " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    per_code = Counter(f.indicator for findings in result.findings_by_contract.values() for f in findings)
    print("contracts flagged per indicator: " + ", ".join(f"{k} {v:,}" for k, v in sorted(per_code.items())))
    flagged = len(result.findings_by_contract)
    print(f"{flagged:,} contracts flagged, {sum(len(v) for v in result.findings_by_contract.values()):,} findings, "
          f"{len(result.orgao_findings):,} órgão-years flagged; detector {result.detector_version}")


if __name__ == "__main__":
    main()
