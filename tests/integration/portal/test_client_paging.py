"""The real client against the real simulator over HTTP: paging, dedup, filters, malformed records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from shared.domain import Source
from shared.portal.breaker import CircuitBreaker
from shared.portal.client import PortalClient
from shared.portal.errors import InvalidRequest
from shared.portal.simulator.admin import SimulatorAdmin
from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.server import SimulatorServer, running_simulator
from shared.portal.transport import RetryPolicy
from shared.portal.wire import PAGE_SIZE, parse_date
from tests.integration.portal.conftest import TEST_KEY, biggest_orgao

pytestmark = pytest.mark.integration

Client = Callable[..., PortalClient]


def test_it_reads_every_contract_of_an_orgao_page_by_page_and_stops_at_the_short_page(
    make_client: Client, sim_dataset: SimDataset, admin: SimulatorAdmin
) -> None:
    code, records = biggest_orgao(sim_dataset)
    pages = list(make_client().iter_contract_pages(code))
    assert {c.id for p in pages for c in p.items} == {r["id"] for r in records}
    assert all(p.raw_count == PAGE_SIZE for p in pages[:-1]) and pages[-1].raw_count < PAGE_SIZE
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    assert all(c.source is Source.SIMULATOR and c.orgao_codigo == code for p in pages for c in p.items)
    assert admin.stats()["by_path"] == {"/contratos": len(pages)}  # one request per page, nothing after the short one


def test_it_stops_at_an_empty_page_when_the_last_full_page_is_exact() -> None:
    contracts = [{"id": i, "unidadeGestora": {"orgaoVinculado": {"codigoSIAFI": "26000"}}} for i in range(1, 31)]
    dataset = SimDataset(seed=0, orgaos=[], contracts=contracts, ceis=[], cnep=[], licitacoes=[])
    with running_simulator(dataset) as server, PortalClient(
        base_url=server.base_url, api_key=TEST_KEY, source=Source.SIMULATOR,
        timeout=30.0, retry=RetryPolicy(max_retries=5), breaker=CircuitBreaker(failure_threshold=5, reset_seconds=120.0),
    ) as client:
        pages = list(client.iter_contract_pages("26000"))
        assert [p.raw_count for p in pages] == [15, 15, 0]
        assert server.requests.stats()["total"] == 3


def test_it_streams_pages_as_they_arrive_instead_of_fetching_them_all(
    make_client: Client, sim_dataset: SimDataset, admin: SimulatorAdmin
) -> None:
    code, _ = biggest_orgao(sim_dataset)
    iterator = make_client().iter_contract_pages(code)
    next(iterator)
    next(iterator)
    assert admin.stats()["total"] == 2


def test_it_deduplicates_by_id_across_overlapping_pages(
    make_client: Client, sim_dataset: SimDataset, admin: SimulatorAdmin
) -> None:
    code, records = biggest_orgao(sim_dataset)
    admin.configure(page_overlap=4)
    pages = list(make_client().iter_contract_pages(code))
    ids = [c.id for p in pages for c in p.items]
    assert len(ids) == len(set(ids)) == len(records)
    assert sum(p.duplicates for p in pages) == 4 * (len(pages) - 1)


def test_it_filters_on_the_vigencia_window(make_client: Client, sim_dataset: SimDataset, admin: SimulatorAdmin) -> None:
    code, records = biggest_orgao(sim_dataset)
    start, end = date(2023, 3, 1), date(2023, 3, 31)
    expected = {r["id"] for r in records
                if parse_date(r["dataInicioVigencia"]) <= end  # type: ignore[operator]
                and (r["dataFimVigencia"] is None or parse_date(r["dataFimVigencia"]) >= start)}  # type: ignore[operator]
    got = {c.id for p in make_client().iter_contract_pages(code, data_inicial=start, data_final=end) for c in p.items}
    assert got == expected and 0 < len(got) < len(records)
    sent = admin.requests()[0]["params"]
    assert sent["dataInicial"] == "01/03/2023" and sent["dataFinal"] == "31/03/2023"


def test_it_keeps_malformed_records_apart_with_their_reason_and_keeps_the_rest(
    make_client: Client, sim_dataset: SimDataset, admin: SimulatorAdmin
) -> None:
    code, records = biggest_orgao(sim_dataset)
    admin.configure(malformed_ratio=0.1, seed=5)
    pages = list(make_client().iter_contract_pages(code))
    rejected = [r for p in pages for r in p.rejected]
    kept = {c.id for p in pages for c in p.items}
    assert rejected and len(kept) + len(rejected) == len(records)
    reasons = " | ".join(r.reason for r in rejected)
    for expected in ("has no id", "is not a calendar date", "is not a number", "expected an object"):
        assert expected in reasons
    assert all(isinstance(r.raw, dict) for r in rejected)
    assert any(p.items and p.rejected for p in pages)  # a page with a bad record still yields its good ones


def test_it_fetches_one_contract_and_sees_an_amendment_as_a_new_version(
    make_client: Client, sim_dataset: SimDataset, admin: SimulatorAdmin
) -> None:
    client = make_client()
    record = sim_dataset.contracts[3]
    before = client.get_contract(record["id"])
    assert before is not None and before.id == record["id"]
    admin.amend(record["id"], valorFinalCompra=1234567.89)
    after = client.get_contract(record["id"])
    assert after is not None and after.valor_final == Decimal("1234567.89")
    assert after.content_hash != before.content_hash
    assert client.get_contract(1) is None


def test_it_lists_orgaos_and_sanctions(make_client: Client, sim_dataset: SimDataset) -> None:
    client = make_client()
    orgaos = list(client.iter_orgaos())
    assert {o["codigo"] for o in orgaos} == {o["codigo"] for o in sim_dataset.orgaos}
    for lista, records in (("ceis", sim_dataset.ceis), ("cnep", sim_dataset.cnep)):
        sanctions = [s for p in client.iter_sanction_pages(lista) for s in p.items]
        assert {s.id for s in sanctions} == {str(r["id"]) for r in records}
        assert all(s.lista == lista.upper() and s.source is Source.SIMULATOR for s in sanctions)


def test_it_starts_at_the_page_it_is_given(make_client: Client, sim_dataset: SimDataset) -> None:
    code, _records = biggest_orgao(sim_dataset)
    client = make_client()
    every = list(client.iter_contract_pages(code))
    rest = list(client.iter_contract_pages(code, first_page=2))
    assert [p.number for p in rest] == [p.number for p in every][1:]
    assert [c.id for p in rest for c in p.items] == [c.id for p in every[1:] for c in p.items]
    lista = "ceis"
    sanctions = list(client.iter_sanction_pages(lista))
    assert [s.id for p in client.iter_sanction_pages(lista, first_page=2) for s in p.items] == \
        [s.id for p in sanctions[1:] for s in p.items]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: list(c.iter_contract_pages("")), "codigoOrgao is required"),
        (lambda c: list(c.iter_contract_pages("MEC")), "SIAFI code of digits"),
        (lambda c: list(c.iter_contract_pages("26000", data_inicial=date(2024, 2, 1), data_final=date(2024, 1, 1))),
         "after dataFinal"),
        (lambda c: list(c.iter_contract_pages("26000", data_inicial="01/01/2024")), "must be a date"),
        (lambda c: c.get_contract(0), "positive integer"),
        (lambda c: list(c.iter_sanction_pages("cepim")), "'ceis' or 'cnep'"),
        (lambda c: list(c.iter_contract_pages("26000", first_page=0)), "first_page must be a page number"),
    ],
)
def test_it_enforces_required_parameters_before_sending_anything(
    make_client: Client, simulator: SimulatorServer, call: Callable[[PortalClient], object], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(make_client())
    assert simulator.requests.stats()["total"] == 0
