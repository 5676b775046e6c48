"""benford_deviation: an órgão-year whose contract values do not follow Benford's first-digit law.

Definition: per (órgão, year of signature) with at least ``min_values`` values (1 000: below that,
Nigrini's cut-offs flag honest data by chance — at n = 300 a perfectly Benford source lands in
the marginal band about a third of the time), the distribution of
first significant digits of ``valorInicialCompra`` compared with Benford's ``log10(1 + 1/d)``.

Formula: Nigrini's mean absolute deviation ``MAD = (1/9) Σ_d |observed_d − log10(1 + 1/d)|``;
nonconforming when ``MAD > nonconforming``, marginal when ``marginal < MAD <= nonconforming``.
Values below ``min_value`` are left out (Nigrini: small amounts follow other rules).

Legal basis: none; a statistical screen (Nigrini, *Benford's Law*, 2012) used by audit bodies to
pick where to look. It ranks órgãos and never accuses a contract, so its findings attach to the
órgão-year only. A marginal result is reported for the ranking only and is worded as marginal
conformity, never as a deviation.

Thresholds (settings, handbook defaults): ``min_values`` = 1 000, ``nonconforming`` = 0.015,
``marginal`` = 0.012, ``min_value`` = 10. Severity ``medium`` when nonconforming, ``low`` when
marginal (emitted only with ``report_marginal``, default True; score 0.05). Score ``MAD / 0.03``, in
[0, 1], when nonconforming.

Fields read: ``unidadeGestora.orgaoVinculado.codigoSIAFI``, ``dataAssinatura`` (year),
``valorInicialCompra``.

Insufficient data: contracts without órgão, signature date or a value of at least ``min_value``,
and every contract of an órgão-year with fewer than ``min_values`` usable values.
"""

from __future__ import annotations

import math
from collections import defaultdict

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, clamp
from shared.detection.batch import Batch
from shared.detection.explain import number, pct
from shared.domain import Severity

CODE = "benford_deviation"
VERSION = "2.0"
EXPECTED = tuple(math.log10(1 + 1 / d) for d in range(1, 10))


class Config(IndicatorConfig):
    min_values: int = Field(default=1000, ge=10)
    nonconforming: float = Field(default=0.015, gt=0)
    marginal: float = Field(default=0.012, gt=0)
    min_value: float = Field(default=10.0, gt=0)
    report_marginal: bool = True


def first_digit(value: float) -> int:
    """First significant digit of a positive number (scientific notation avoids float log edge cases)."""
    return int(f"{value:e}"[0])


def mad(counts: list[int]) -> float:
    n = sum(counts)
    return sum(abs(c / n - e) for c, e in zip(counts, EXPECTED, strict=True)) / 9


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    digits: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0] * 9)
    reportable: dict[tuple[str, int], int] = defaultdict(int)
    for i, contract in enumerate(batch.contracts):
        year, value = batch.year[i], batch.value[i]
        if not contract.orgao_codigo or year is None or value is None or value < config.min_value:
            if batch.reportable(i):
                result.lacking("sem_orgao_data_ou_valor")
            continue
        key = (contract.orgao_codigo, year)
        digits[key][first_digit(value) - 1] += 1
        if batch.reportable(i):
            reportable[key] += 1
    for key in sorted(digits):
        counts = digits[key]
        n = sum(counts)
        if n < config.min_values:
            result.lacking("orgao_ano_com_menos_de_n_valores", reportable.get(key, 0))
            continue
        deviation = round(mad(counts), 6)
        if deviation > config.nonconforming:
            severity, label = Severity.MEDIUM, "não conforme"
        elif deviation > config.marginal and config.report_marginal:
            severity, label = Severity.LOW, "marginalmente conforme"
        else:
            continue
        orgao, year = key
        worst = max(range(9), key=lambda d: abs(counts[d] / n - EXPECTED[d]))
        if severity is Severity.MEDIUM:
            sentence = (
                f"Em {year}, os primeiros dígitos dos {n} valores de contrato do órgão {orgao} se afastam da Lei de Benford: "
                f"desvio médio absoluto {number(deviation, 4)} ({label}; limites de Nigrini {number(config.marginal, 3)} e "
                f"{number(config.nonconforming, 3)}). O dígito {worst + 1} aparece em {pct(round(counts[worst] / n, 4))} dos "
                f"valores, contra {pct(round(EXPECTED[worst], 4))} esperados. É um indicador estatístico para priorizar órgãos, nunca uma "
                "acusação sobre um contrato."
            )
        else:
            sentence = (
                f"Em {year}, os primeiros dígitos dos {n} valores de contrato do órgão {orgao} têm conformidade marginal com "
                f"a Lei de Benford (desvio médio absoluto {number(deviation, 4)}, entre os limites de Nigrini "
                f"{number(config.marginal, 3)} e {number(config.nonconforming, 3)}); serve apenas para ordenar órgãos."
            )
        result.flag_orgao(
            orgao, year, severity=severity,
            score=clamp(deviation / 0.03, 0.0, 1.0) if severity is Severity.MEDIUM else 0.05, value=round(deviation, 6),
            threshold=config.nonconforming,
            baseline={"orgao": orgao, "n": n, "contagens": list(counts),
                      "observado": [round(c / n, 4) for c in counts], "esperado": [round(e, 4) for e in EXPECTED],
                      "conformidade": label, "limite_marginal": config.marginal},
            sentence=sentence)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "orgao", "Primeiros dígitos dos valores (Lei de Benford)", Config, evaluate, __doc__ or "")
