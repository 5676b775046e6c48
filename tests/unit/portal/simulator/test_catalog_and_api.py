"""The simulator's queries and parameter rules, without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from shared.portal.simulator.api import answer
from shared.portal.simulator.catalog import Catalog, StreamedOrgao, in_window
from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.faults import FaultConfig, FaultState


def contract(cid: int, orgao: str = "26000", inicio: str | None = "2024-01-01", fim: str | None = "2024-12-31") -> dict[str, Any]:
    return {"id": cid, "unidadeGestora": {"orgaoVinculado": {"codigoSIAFI": orgao}},
            "fornecedor": {"cnpjFormatado": "11.222.333/0001-81"},
            "dataInicioVigencia": inicio, "dataFimVigencia": fim, "valorFinalCompra": 100.0}


def dataset(contracts: list[dict[str, Any]]) -> SimDataset:
    return SimDataset(seed=1, orgaos=[{"codigo": "26000", "descricao": "MEC"}], contracts=contracts,
                      ceis=[], cnep=[], licitacoes=[])


def test_it_matches_a_vigencia_that_overlaps_the_window() -> None:
    jan, dec = date(2024, 1, 1), date(2024, 12, 31)
    assert in_window(jan, dec, date(2024, 6, 1), date(2024, 6, 30))
    assert in_window(jan, None, date(2030, 1, 1), None)  # no end: still in force
    assert not in_window(jan, dec, date(2025, 1, 1), None)
    assert not in_window(jan, dec, None, date(2023, 12, 31))
    assert not in_window(None, None, jan, dec)
    assert in_window(None, None, None, None)


def test_it_pages_an_orgao_fifteen_at_a_time_with_optional_overlap() -> None:
    catalog = Catalog(dataset([contract(i) for i in range(1, 32)] + [contract(99, orgao="36000")]))
    pages = [catalog.contracts_page("26000", n, None, None) for n in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [15, 15, 1, 0]
    overlapped = catalog.contracts_page("26000", 2, None, None, overlap=5)
    assert [r["id"] for r in overlapped][:5] == [11, 12, 13, 14, 15]


def test_it_amends_a_contract_everywhere_it_is_indexed() -> None:
    catalog = Catalog(dataset([contract(1)]))
    catalog.amend(1, {"valorFinalCompra": 250.0})
    assert catalog.contract(1)["valorFinalCompra"] == 250.0  # type: ignore[index]
    assert catalog.contracts_page("26000", 1, None, None)[0]["valorFinalCompra"] == 250.0
    assert catalog.supplier_page("11222333000181", 1)[0]["valorFinalCompra"] == 250.0
    assert catalog.amend(404, {"valorFinalCompra": 1.0}) is None


def test_it_streams_a_big_orgao_without_restarting_for_sequential_pages() -> None:
    starts = []

    def factory() -> Iterator[dict[str, Any]]:
        starts.append(1)
        return (contract(i, orgao="99999") for i in range(1, 101))

    streamed = StreamedOrgao("99999", 100, factory)
    ids = [r["id"] for n in range(1, 8) for r in streamed.page(n, None, None)]
    assert ids == list(range(1, 101)) and len(starts) == 1
    overlapped = [r["id"] for n in (1, 2) for r in streamed.page(n, None, None, overlap=3)]
    assert overlapped[15:18] == [13, 14, 15]
    assert streamed.page(1, None, None) and len(starts) >= 2  # going back restarts the generator


def test_it_answers_400_in_plain_text_for_missing_or_malformed_filters() -> None:
    catalog, faults = Catalog(dataset([contract(1)])), FaultState(FaultConfig())
    missing = answer(catalog, faults, "/contratos", {"pagina": "1"})
    assert missing.status == 400 and "Filtros mínimos" in missing.body.decode() and "codigoOrgao" in missing.body.decode()
    assert missing.content_type.startswith("text/plain")
    iso = answer(catalog, faults, "/contratos", {"codigoOrgao": "26000", "pagina": "1", "dataInicial": "2024-01-01"})
    assert iso.status == 400 and "DD/MM/AAAA" in iso.body.decode()
    assert answer(catalog, faults, "/contratos", {"codigoOrgao": "26000", "pagina": "0"}).status == 400
    long = answer(catalog, faults, "/licitacoes", {"codigoOrgao": "26000", "pagina": "1",
                                                   "dataInicial": "01/01/2024", "dataFinal": "15/02/2024"})
    assert long.status == 400 and "no máximo 1 mês" in long.body.decode()
    assert answer(catalog, faults, "/nao-existe", {}).status == 403
    assert answer(catalog, faults, "/contratos/id", {"id": "404"}).status == 404
