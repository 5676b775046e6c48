from datetime import date

import pytest

from shared.detection.base import Context
from shared.detection.batch import prepare
from shared.detection.indicators.sanctioned_supplier import SPEC
from shared.domain import Severity
from tests.unit.detection.helpers import contract, flagged_ids, run, sanction

SIGNED = date(2024, 6, 10)
CGU = "Controladoria-Geral da União"


def one(tipo: str, orgao: str = CGU, **overrides: object):  # type: ignore[no-untyped-def]
    c = contract(data_assinatura=SIGNED)
    result = run(SPEC, [c], sanctions=[sanction(tipo=tipo, orgao_sancionador=orgao, **overrides)])
    assert flagged_ids(result) == [c.id]
    return result.contract_findings[0]


@pytest.mark.parametrize(("tipo", "orgao", "severity", "bars"), [
    ("Inidoneidade - Lei 14.133/2021", CGU, Severity.CRITICAL, True),
    ("Declaração de Inidoneidade", "Governo do Estado de Minas Gerais", Severity.CRITICAL, True),
    ("Declaração de Inidoneidade", "Tribunal de Contas da União", Severity.CRITICAL, True),
    ("Impedimento - Lei 14.133/2021", CGU, Severity.HIGH, True),
    ("Impedimento - Lei do Pregão", "Ministério da Saúde", Severity.HIGH, True),
    ("Impedimento - Lei 14.133/2021", "Governo do Estado de Minas Gerais", Severity.LOW, False),
    ("Impedimento/proibição de contratar com prazo determinado", "Prefeitura Municipal de Campinas", Severity.LOW, False),
    ("Impedimento - Legislação Estadual", "Secretaria da Fazenda", Severity.LOW, False),
    ("Suspensão - Lei de Licitações", "Universidade Federal do Norte", Severity.HIGH, True),
    ("Suspensão - Lei de Licitações", "Ministério da Defesa", Severity.LOW, False),
    ("Multa - Lei Anticorrupção", CGU, Severity.LOW, False),
    ("Publicação Extraordinária - Lei Anticorrupção", CGU, Severity.LOW, False),
    ("Acordo de Leniência", CGU, Severity.LOW, False),
])
def test_it_grades_each_sanction_kind_by_whether_it_bars_this_federal_contract(tipo, orgao, severity, bars) -> None:  # type: ignore[no-untyped-def]
    finding = one(tipo, orgao)
    assert finding.severity is severity
    assert finding.baseline["impede_contratar"] is bars
    if not bars:
        assert "tem registro de sanção" in finding.explanation and "impede contratar com" not in finding.explanation
        assert finding.score <= 0.15 or severity is not Severity.LOW


def test_it_reads_the_sphere_from_the_portal_esfera_field_before_the_name() -> None:
    raw = {"orgaoSancionador": {"nome": "Órgão X", "esfera": "ESTADUAL", "siglaUf": "BA"}}
    finding = one("Impedimento - Lei 14.133/2021", "Órgão X", raw=raw)
    assert finding.severity is Severity.LOW and finding.baseline["sancoes"][0]["esfera"] == "estadual"


def test_it_makes_a_judicial_prohibition_critical_only_when_nationwide() -> None:
    national = one("Proibição - Lei de Improbidade", "Justiça Federal",
                   abrangencia="Todas as esferas em todo o território nacional")
    local = one("Proibição - Lei de Improbidade", "Justiça Estadual", abrangencia="No âmbito do município")
    assert national.severity is Severity.CRITICAL and local.severity is Severity.MEDIUM


def test_it_never_says_a_cnep_fine_bars_contracting() -> None:
    finding = one("Multa - Lei Anticorrupção", lista="CNEP")
    assert finding.severity is Severity.LOW and "Lei 14.133/2021 (art. 14 e 156) impede" not in finding.explanation
    assert "não impede contratar" in finding.explanation


def test_it_matches_another_branch_by_cnpj_root_one_step_lower_and_says_so() -> None:
    c = contract(data_assinatura=SIGNED, fornecedor_documento="11222333000181")
    branch = sanction(documento="11222333000262", tipo="Inidoneidade - Lei 14.133/2021")
    [finding] = run(SPEC, [c], sanctions=[branch]).contract_findings
    assert finding.severity is Severity.HIGH and finding.baseline["por_raiz_cnpj"] is True
    assert "raiz de CNPJ 11222333" in finding.explanation


def test_it_flags_on_the_first_and_last_day_of_the_sanction() -> None:
    first = contract(data_assinatura=date(2024, 1, 1))
    last = contract(data_assinatura=date(2024, 12, 31))
    assert flagged_ids(run(SPEC, [first, last], sanctions=[sanction()])) == [first.id, last.id]


def test_it_does_not_flag_outside_the_period_or_another_supplier() -> None:
    before = contract(data_assinatura=date(2023, 12, 31))
    after = contract(data_assinatura=date(2025, 1, 1))
    other = contract(fornecedor_documento="99888777000166", data_assinatura=date(2024, 6, 1))
    result = run(SPEC, [before, after, other], sanctions=[sanction()])
    assert result.contract_findings == [] and result.insufficient == 0


def test_it_treats_an_open_ended_sanction_as_ongoing() -> None:
    c = contract(data_assinatura=date(2026, 5, 5))
    assert flagged_ids(run(SPEC, [c], sanctions=[sanction(data_fim=None)])) == [c.id]


def test_it_names_a_masked_cpf_as_insufficient_data() -> None:
    masked = contract(fornecedor_documento="123456")  # "***.123.456-**" as the Portal sends it
    result = run(SPEC, [masked], sanctions=[sanction()])
    assert result.reasons == {"cpf_mascarado": 1} and result.contract_findings == []


def test_it_tells_no_mirror_loaded_from_no_sanction_matched() -> None:
    batch = prepare([contract()])
    loaded = SPEC.evaluate(batch, Context(sanctions=(), sanctions_loaded=True), SPEC.config_model())
    missing = SPEC.evaluate(batch, Context(sanctions=(), sanctions_loaded=False), SPEC.config_model())
    assert loaded.insufficient == 0 and loaded.contract_findings == []
    assert missing.reasons == {"sem_espelho_de_sancoes": 1}


def test_it_counts_missing_data_as_insufficient_never_as_a_pass() -> None:
    no_doc = contract(fornecedor_documento=None)
    no_date = contract(data_assinatura=None)
    assert run(SPEC, [no_doc, no_date], sanctions=[sanction()]).insufficient == 2
    undated = run(SPEC, [contract()], sanctions=[sanction(data_inicio=None)])
    assert undated.insufficient == 1 and undated.contract_findings == []
