"""Parsing ContratoDTO, sanction and licitação records with the Portal's real field names."""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pytest

from shared.domain import Source, canonical_hash
from shared.portal.errors import MalformedRecord
from shared.portal.models import parse_contract, parse_licitacao, parse_money, parse_orgao, parse_sanction

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_it_parses_a_contrato_dto_into_the_expected_contract() -> None:
    raw = _load("contrato.json")
    expected = _load("contrato.expected.json")
    assert isinstance(raw, dict) and isinstance(expected, dict)

    contract = parse_contract(raw, source=Source.SIMULATOR)

    got = {k: v for k, v in asdict(contract).items() if k not in {"raw", "content_hash"}}
    got = {k: (str(v) if v is not None and k.startswith(("data_", "valor_", "source")) else v) for k, v in got.items()}
    assert got == expected


def test_it_keeps_money_as_decimal_never_float() -> None:
    contract = parse_contract(_load("contrato.json"), source=Source.PORTAL)  # type: ignore[arg-type]
    assert isinstance(contract.valor_final, Decimal)
    assert contract.valor_inicial == Decimal("59000.1")  # not 59000.099999999...


def test_it_keeps_unknown_fields_and_hashes_the_record_as_received() -> None:
    raw = _load("contrato.json")
    assert isinstance(raw, dict)
    contract = parse_contract(raw, source=Source.PORTAL)
    assert contract.raw["campoNovoQueOPortalAcrescentou"] == {"qualquer": "coisa"}
    assert contract.content_hash == canonical_hash(raw)
    changed = parse_contract({**raw, "valorFinalCompra": 70000.0}, source=Source.PORTAL)
    assert changed.content_hash != contract.content_hash


@pytest.mark.parametrize("case", _load("malformed_contracts.json"), ids=lambda c: c["reason"][:40])  # type: ignore[arg-type]
def test_it_rejects_a_malformed_contract_with_its_reason_and_raw_record(case: dict) -> None:
    with pytest.raises(MalformedRecord) as caught:
        parse_contract(case["record"], source=Source.PORTAL)
    assert case["reason"] in caught.value.reason
    assert caught.value.raw == case["record"]


def test_it_accepts_a_contract_whose_every_optional_field_is_missing_or_null() -> None:
    contract = parse_contract({"id": "42", "valorFinalCompra": None, "unidadeGestora": None}, source=Source.PORTAL)
    assert contract.id == 42
    assert contract.orgao_codigo is None and contract.valor_final is None and contract.data_assinatura is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1500, Decimal("1500")), (0.1, Decimal("0.1")), ("1234.56", Decimal("1234.56")),
     ("1.234,56", Decimal("1234.56")), ("R$ 10,00", Decimal("10.00")), ("", None), (None, None)],
)
def test_it_reads_money_in_the_shapes_the_api_sends(value: object, expected: Decimal | None) -> None:
    assert parse_money(value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "12,34,56", [1], True])
def test_it_refuses_money_that_is_not_an_amount(value: object) -> None:
    with pytest.raises(ValueError):
        parse_money(value)


CEIS = {
    "id": 900003,
    "dataInicioSancao": "30/10/2024",
    "dataFimSancao": None,
    "tipoSancao": {"descricaoResumida": "Suspensão - Lei de Licitações"},
    "orgaoSancionador": {"nome": "Controladoria-Geral da União", "poder": "Executivo", "siglaUf": "SP"},
    "sancionado": {"codigoFormatado": "32.168.648/0001-68", "nome": "PRIMAVERA ENGENHARIA LTDA"},
    "pessoa": {"cnpjFormatado": "32.168.648/0001-68", "nome": "PRIMAVERA ENGENHARIA LTDA"},
    "abrangenciaDefinidaDecisaoJudicial": "Todas as esferas em todo o território nacional",
    "numeroProcesso": "00190.385815/2024-89",
}


def test_it_parses_a_sanction_with_its_nested_objects() -> None:
    sanction = parse_sanction(CEIS, "ceis", source=Source.SIMULATOR)
    assert sanction.id == "900003" and sanction.lista == "CEIS"
    assert sanction.documento == "32168648000168"
    assert sanction.tipo == "Suspensão - Lei de Licitações"
    assert str(sanction.data_inicio) == "2024-10-30" and sanction.data_fim is None
    assert sanction.orgao_sancionador == "Controladoria-Geral da União" and sanction.orgao_sancionador_uf == "SP"
    assert sanction.nacional is True
    assert sanction.raw["numeroProcesso"] == "00190.385815/2024-89"


def test_it_rejects_a_sanction_whose_document_is_masked() -> None:
    masked = {**CEIS, "sancionado": {"codigoFormatado": "***.456.789-**"}, "pessoa": {"cpfFormatado": "***.456.789-**"}}
    with pytest.raises(MalformedRecord, match="no full CPF/CNPJ"):
        parse_sanction(masked, "cnep")


def test_it_parses_a_licitacao_and_its_orgao() -> None:
    raw = {"id": 1070700000, "dataAbertura": "2021-11-26", "dataPublicacao": "10/11/2021",
           "modalidadeLicitacao": "Pregão", "valor": 157095.23, "situacaoCompra": "Homologada",
           "licitacao": {"numero": "00894/2021", "objeto": "Refeições", "numeroProcesso": "15000.9/2021-19"},
           "unidadeGestora": {"orgaoVinculado": {"codigoSIAFI": "26201"}}}
    licitacao = parse_licitacao(raw)
    assert licitacao.orgao_codigo == "26201" and licitacao.numero == "00894/2021"
    assert licitacao.valor == Decimal("157095.23") and str(licitacao.data_publicacao) == "2021-11-10"


def test_it_keeps_orgao_codes_as_text() -> None:
    assert parse_orgao({"codigo": 26000, "descricao": "MEC"}) == {"codigo": "26000", "descricao": "MEC"}
    with pytest.raises(MalformedRecord, match="no codigo"):
        parse_orgao({"descricao": "sem código"})
