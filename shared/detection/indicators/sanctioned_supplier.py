"""sanctioned_supplier: the supplier was under a CEIS/CNEP sanction on the signature day, and whether it bars this contract.

Definition: a CEIS or CNEP record of the supplier (its 14 CNPJ digits, or its 8-digit CNPJ root —
another branch of the same company, noted as such — or its 11 CPF digits) whose period contains
``dataAssinatura``. What the finding says depends on whether the sanction *bars this federal
contract* (see :mod:`shared.detection.sanction_kinds` for the legal reading):

* declaração de inidoneidade (Lei 14.133/2021 art. 156 IV and §5º; Lei 8.666/1993 art. 87 IV;
  Lei 8.443/1992 art. 46) → **critical**;
* impedimento de licitar e contratar imposed by a federal body (Lei 14.133 art. 156 III and §4º;
  Lei 10.520/2002 art. 7º) → **high**; imposed by a state or municipality → **low**, worded as a
  record that does not bind the União; sphere unknown → **medium**, saying so;
* suspensão temporária (Lei 8.666 art. 87 III) imposed by the contract's own órgão → **high**;
  by another → **low**, saying that the TCU reads it as binding only the sanctioning órgão;
* judicial proibição de contratar: nationwide → **critical**, otherwise **medium** with its scope;
* CNEP multa, publicação extraordinária (Lei 12.846/2013 art. 6º), leniência and anything else →
  **low**: "o fornecedor tem registro de sanção", never "impede contratar".

Legal basis: Lei 14.133/2021 arts. 14 and 156, Lei 8.666/1993 art. 87, Lei 10.520/2002 art. 7º,
Lei 8.443/1992 art. 46, Lei 12.846/2013 art. 6º, as read in :mod:`shared.detection.sanction_kinds`
(which cites the planalto.gov.br texts).

A match only on the CNPJ root lowers the severity one step (another branch; the sanction binds the
legal person, which the explanation says to check).

Formula: in force when ``dataInicioSancao <= dataAssinatura <= dataFimSancao`` (no end: ongoing);
the most serious sanction in force decides the severity; all of them are listed in the baseline.

Thresholds (settings, handbook defaults): scores ``score_critical`` = 1.0, ``score_high`` = 0.85,
``score_medium`` = 0.5, ``score_low`` = 0.15.

Fields read: ``fornecedor`` document (and ``fornecedor.cpfFormatado`` as sent, to see masking),
``dataAssinatura``, ``unidadeGestora.orgaoVinculado.nome``; the sanction mirror (a local copy of
CEIS/CNEP refreshed daily, never one call per contract).

Insufficient data: (named in ``reasons``) ``sem_espelho_de_sancoes`` when no mirror is loaded
(distinct from "no sanction matched", which is a normal outcome), ``cpf_mascarado`` when the
Portal masks the supplier's CPF (``***.123.456-**`` cannot be matched), ``sem_documento``,
``sem_data_assinatura``, and ``sancao_sem_inicio`` when every matching record lacks a start date.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import NamedTuple

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec
from shared.detection.batch import Batch
from shared.detection.explain import day
from shared.detection.sanction_kinds import SanctionKind, classify, nationwide
from shared.detection.text import fold
from shared.domain import Sanction, Severity

CODE = "sanctioned_supplier"
VERSION = "2.0"
_STEP_DOWN = {Severity.CRITICAL: Severity.HIGH, Severity.HIGH: Severity.MEDIUM,
              Severity.MEDIUM: Severity.LOW, Severity.LOW: Severity.LOW}


class Config(IndicatorConfig):
    score_critical: float = Field(default=1.0, ge=0, le=1)
    score_high: float = Field(default=0.85, ge=0, le=1)
    score_medium: float = Field(default=0.5, ge=0, le=1)
    score_low: float = Field(default=0.15, ge=0, le=1)


def _in_force(sanction: Sanction, when: date) -> bool | None:
    if sanction.data_inicio is None:
        return None
    return sanction.data_inicio <= when and (sanction.data_fim is None or when <= sanction.data_fim)


class Assessment(NamedTuple):
    """How one sanction in force bears on this contract."""

    severity: Severity
    bars: bool  # the sanction forbids this federal contract
    reason: str  # pt-BR, with the article; ``{sphere}`` and ``{abrangencia}`` filled in by :func:`assess`


# The legal reading of each case (see :mod:`shared.detection.sanction_kinds`), chosen by :func:`_case`.
_READINGS = {
    "inidoneidade": Assessment(Severity.CRITICAL, True, "a declaração de inidoneidade impede licitar e contratar com toda a Administração Pública (Lei 14.133/2021, art. 156, §5º; Lei 8.666/1993, art. 87, IV)"),
    "impedimento_federal": Assessment(Severity.HIGH, True, "o impedimento aplicado por órgão federal alcança toda a Administração federal (Lei 14.133/2021, art. 156, §4º; Lei 10.520/2002, art. 7º)"),
    "impedimento_local": Assessment(Severity.LOW, False, "o impedimento foi aplicado na esfera {sphere} e vale no âmbito do ente que o aplicou (Lei 14.133/2021, art. 156, §4º), não da União"),
    "impedimento_sem_esfera": Assessment(Severity.MEDIUM, False, "a esfera do órgão sancionador não foi identificada; o impedimento só alcança o ente que o aplicou (Lei 14.133/2021, art. 156, §4º)"),
    "suspensao_pelo_orgao": Assessment(Severity.HIGH, True, "a suspensão temporária foi aplicada pelo próprio órgão contratante (Lei 8.666/1993, art. 87, III)"),
    "suspensao_por_outro": Assessment(Severity.LOW, False, "a suspensão temporária foi aplicada por outro órgão; o TCU a entende restrita ao órgão sancionador (Lei 8.666/1993, art. 87, III)"),
    "proibicao_nacional": Assessment(Severity.CRITICAL, True, "a decisão judicial proíbe contratar com o poder público em todo o território nacional (abrangência definida na decisão)"),
    "proibicao_delimitada": Assessment(Severity.MEDIUM, False, "a decisão judicial define a abrangência '{abrangencia}', que precisa ser conferida para este contrato"),
    "outra": Assessment(Severity.LOW, False, "este tipo de sanção (por exemplo multa ou publicação extraordinária da Lei 12.846/2013, art. 6º) não impede contratar"),
}


def _case(kind: SanctionKind, same_orgao: bool, national: bool) -> str:
    if kind.kind == "impedimento":
        if kind.sphere == "federal":
            return "impedimento_federal"
        return "impedimento_local" if kind.sphere in ("estadual", "municipal") else "impedimento_sem_esfera"
    if kind.kind == "suspensao":
        return "suspensao_pelo_orgao" if same_orgao else "suspensao_por_outro"
    if kind.kind == "proibicao_judicial":
        return "proibicao_nacional" if national else "proibicao_delimitada"
    return "inidoneidade" if kind.kind == "inidoneidade" else "outra"


def assess(sanction: Sanction, kind: SanctionKind, same_orgao: bool, national: bool) -> Assessment:
    """How one sanction in force bears on this contract, by the kind of sanction and who applied it."""
    reading = _READINGS[_case(kind, same_orgao, national)]
    return reading._replace(reason=reading.reason.format(
        sphere=kind.sphere, abrangencia=sanction.abrangencia or "não informada"))


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    if not context.mirror_loaded:
        result.lacking("sem_espelho_de_sancoes", sum(1 for _ in batch.rows()))
        return result
    by_document: dict[str, list[Sanction]] = defaultdict(list)
    by_root: dict[str, list[Sanction]] = defaultdict(list)
    for sanction in context.sanctions:
        by_document[sanction.documento].append(sanction)
        if len(sanction.documento) == 14:
            by_root[sanction.documento[:8]].append(sanction)
    kinds: dict[tuple[str, str], tuple[SanctionKind, bool]] = {}

    def kind_of(s: Sanction) -> tuple[SanctionKind, bool]:
        found = kinds.get((s.lista, s.id))
        if found is None:
            found = kinds[(s.lista, s.id)] = (classify(s), nationwide(s))
        return found

    scores = {Severity.CRITICAL: config.score_critical, Severity.HIGH: config.score_high,
              Severity.MEDIUM: config.score_medium, Severity.LOW: config.score_low}
    masked = no_document = undated = 0
    exact_of, root_of = by_document.get, by_root.get
    for i, contract in batch.rows():
        doc = contract.fornecedor_documento
        if not doc:
            no_document += 1
            continue
        size = len(doc)
        if size == 14:
            exact, root = exact_of(doc), root_of(doc[:8])
        elif size == 11:
            exact, root = exact_of(doc), None
        else:
            masked += 1
            continue
        signed = contract.data_assinatura
        if signed is None:
            undated += 1
            continue
        if not exact and not root:
            continue
        branch = [s for s in root if s.documento != doc] if root else []
        candidates = [(s, False) for s in exact or ()] + [(s, True) for s in branch]
        if not candidates:
            continue
        states = [(s, other, _in_force(s, signed)) for s, other in candidates]
        matched = [(s, other) for s, other, state in states if state]
        if not matched:
            if all(state is None for _s, _o, state in states):
                result.lacking("sancao_sem_inicio")
            continue
        own = fold(contract.orgao_nome)
        assessed = []
        for s, other in matched:
            same = bool(own) and fold(s.orgao_sancionador) == own
            kind, national = kind_of(s)
            severity, bars, reason = assess(s, kind, same, national)
            if other:
                severity = _STEP_DOWN[severity]
            assessed.append((s, other, kind, severity, bars, reason, same))
        assessed.sort(key=lambda a: (-a[3].rank, a[1], a[0].lista, a[0].id))
        top, other, kind, severity, bars, reason, same = assessed[0]
        period = f"de {day(top.data_inicio)} " + (f"a {day(top.data_fim)}" if top.data_fim else "sem data de término")
        who = contract.fornecedor_nome or doc
        branch_note = (f" O registro é de outro estabelecimento da mesma empresa (raiz de CNPJ {doc[:8]}, documento "
                       f"{top.documento}); a sanção recai sobre a pessoa jurídica, o que deve ser conferido.") if other else ""
        if bars:
            sentence = (f"O fornecedor {who} assinou este contrato em {day(signed)} durante uma {kind.label} ({top.lista}, "
                        f"{top.tipo or 'tipo não informado'}) {period}, aplicada por {top.orgao_sancionador or 'órgão não informado'}; "
                        f"pelos dados do registro, {reason}.{branch_note}")
        else:
            sentence = (f"O fornecedor {who} tem registro de sanção no {top.lista} ({top.tipo or 'tipo não informado'}) {period}, "
                        f"aplicada por {top.orgao_sancionador or 'órgão não informado'}, vigente na assinatura em {day(signed)}; "
                        f"pelos dados do registro, {reason}.{branch_note}")
        result.flag(
            i, severity=severity, score=scores[severity], value=1.0 if bars else 0.0, threshold=None,
            baseline={
                "sancoes": [
                    {"id": s.id, "lista": s.lista, "tipo": s.tipo, "especie": k.kind, "esfera": k.sphere,
                     "fundamentacao": k.basis or None, "impede_este_contrato": b, "gravidade": sev.value,
                     "inicio": s.data_inicio.isoformat() if s.data_inicio else None,
                     "fim": s.data_fim.isoformat() if s.data_fim else None, "orgao_sancionador": s.orgao_sancionador,
                     "nacional": kind_of(s)[1], "outro_estabelecimento": o, "documento": s.documento}
                    for s, o, k, sev, b, _r, _same in assessed
                ],
                "impede_contratar": bars, "mesmo_orgao": same, "por_raiz_cnpj": other,
            },
            fields=("fornecedor.documento", "fornecedor.nome", "dataAssinatura", "unidadeGestora.orgaoVinculado.nome"),
            sentence=sentence)
    for reason, count in (("cpf_mascarado", masked), ("sem_documento", no_document), ("sem_data_assinatura", undated)):
        if count:
            result.lacking(reason, count)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Fornecedor com sanção", Config, evaluate, __doc__ or "")
