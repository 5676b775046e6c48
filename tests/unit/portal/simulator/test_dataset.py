from __future__ import annotations

import inspect
from datetime import date

import pytest

from shared.domain import Source
from shared.portal.models import parse_contract, parse_sanction
from shared.portal.simulator.dataset import big_orgao_contracts, generate_dataset

CONTRACT_KEYS = {
    "id", "numero", "objeto", "numeroProcesso", "fundamentoLegal", "situacaoContrato", "modalidadeCompra", "compra",
    "unidadeGestora", "unidadeGestoraCompras", "fornecedor", "dataAssinatura", "dataPublicacaoDOU",
    "dataInicioVigencia", "dataFimVigencia", "valorInicialCompra", "valorFinalCompra",
}
SANCTION_KEYS = {"id", "sancionado", "pessoa", "tipoSancao", "dataInicioSancao", "dataFimSancao", "orgaoSancionador",
                 "abrangenciaDefinidaDecisaoJudicial"}


@pytest.fixture(scope="module")
def small():  # type: ignore[no-untyped-def]
    return generate_dataset(7, scale=0.2)


def test_it_is_the_same_for_the_same_seed_and_different_for_another(small) -> None:  # type: ignore[no-untyped-def]
    again = generate_dataset(7, scale=0.2)
    assert again.contracts == small.contracts and again.ceis == small.ceis and again.ground_truth == small.ground_truth
    assert generate_dataset(8, scale=0.2).contracts != small.contracts


def test_it_uses_the_real_field_names_and_every_record_parses(small) -> None:  # type: ignore[no-untyped-def]
    for raw in small.contracts:
        assert set(raw) == CONTRACT_KEYS
        assert set(raw["unidadeGestora"]["orgaoVinculado"]) == {"codigoSIAFI", "cnpj", "sigla", "nome"}
        parse_contract(raw, source=Source.SIMULATOR)
    for lista, records in (("ceis", small.ceis), ("cnep", small.cnep)):
        assert records
        for raw in records:
            assert SANCTION_KEYS <= set(raw)
            parse_sanction(raw, lista, source=Source.SIMULATOR)
    assert len({raw["id"] for raw in small.contracts}) == len(small.contracts)
    assert len({raw["id"] for raw in small.ceis + small.cnep}) == len(small.ceis) + len(small.cnep)
    codes = {o["codigo"] for o in small.orgaos}
    assert {raw["unidadeGestora"]["orgaoVinculado"]["codigoSIAFI"] for raw in small.contracts} < codes
    assert all({"dataAbertura", "modalidadeLicitacao", "valor", "licitacao"} <= set(r) for r in small.licitacoes)


def test_it_has_the_variety_the_detectors_and_parsers_need(small) -> None:  # type: ignore[no-untyped-def]
    contracts = [parse_contract(raw, source=Source.SIMULATOR) for raw in small.contracts]
    years = {c.data_assinatura.year for c in contracts if c.data_assinatura}
    assert years == set(range(2021, 2027))
    assert {c.modalidade_compra for c in contracts} >= {"Dispensa de Licitação", "Inexigibilidade de Licitação", "Pregão"}
    assert any(c.valor_final != c.valor_inicial for c in contracts)  # amendments
    assert any(c.data_publicacao_dou is None for c in contracts)  # missing data exists
    assert any("/" in raw["dataAssinatura"] for raw in small.contracts)  # some DD/MM/AAAA dates
    assert all(c.data_assinatura is None or c.data_assinatura <= date(2026, 11, 30) for c in contracts)


def test_it_plants_every_indicator_and_keeps_clean_ids_apart(small) -> None:  # type: ignore[no-untyped-def]
    truth = small.ground_truth
    per_contract = {"sanctioned_supplier", "amendment_over_limit", "split_below_dispensa", "price_outlier",
                    "duplicate_contract", "direct_award_high_value", "late_publication"}
    assert per_contract <= {code for code, ids in truth.contracts.items() if ids}
    assert {code for code, pairs in truth.orgao_years.items() if pairs} == {"supplier_concentration", "benford_deviation"}
    ids = {raw["id"] for raw in small.contracts}
    planted = {i for values in truth.contracts.values() for i in values}
    assert planted <= ids and set(truth.clean) <= ids and not planted & set(truth.clean)
    assert truth.to_json()["orgao_years"]["benford_deviation"][0][0] in {o["codigo"] for o in small.orgaos}


def test_it_refuses_a_non_positive_scale() -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_dataset(1, scale=0)


def test_it_streams_one_orgaos_contracts_lazily_with_unique_ids() -> None:
    stream = big_orgao_contracts("26201", 3000, seed=1)
    assert inspect.isgenerator(stream)
    first = next(stream)
    rest = list(stream)
    rows = [first, *rest]
    assert len(rows) == 3000 and len({r["id"] for r in rows}) == 3000
    assert {r["unidadeGestora"]["orgaoVinculado"]["codigoSIAFI"] for r in rows} == {"26201"}
    assert list(big_orgao_contracts("26201", 3000, seed=1)) == rows  # same arguments, same records
    other = {r["id"] for r in big_orgao_contracts("36202", 3000, seed=1)}
    assert not other & {r["id"] for r in rows}
    parse_contract(rows[-1], source=Source.SIMULATOR)
