"""Conformance, part 1: contracts, their versions, sanctions and peer baselines, on both backends."""

from __future__ import annotations

import dataclasses
import math
import statistics
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from shared.domain import Sanction, Source, canonical_hash
from shared.store.base import ContractFilter, PeerGroup, Store, StoreError, Vigencia
from tests.integration.store.factories import make_contract

pytestmark = pytest.mark.integration


def amended(contract: Any, **changes: Any) -> Any:
    raw = {**contract.raw, "valorFinalCompra": str(changes.get("valor_final", contract.valor_final))}
    return dataclasses.replace(contract, raw=raw, content_hash=canonical_hash(raw), **changes)


def test_it_reports_new_then_unchanged_then_changed_contracts(store: Store, db: psycopg.Connection[Any]) -> None:
    batch = [make_contract(i) for i in range(1, 501)]
    first = store.upsert_contracts(batch)
    assert first.new == [c.id for c in batch] and first.changed == [] and first.unchanged == []

    again = store.upsert_contracts(batch)
    assert again.new == [] and again.changed == [] and again.unchanged == [c.id for c in batch]

    changed = [amended(batch[0], valor_final=Decimal("99999.99")), amended(batch[1], valor_final=Decimal("1.00"))]
    mixed = store.upsert_contracts([*changed, batch[2], make_contract(9001)])
    assert mixed.new == [9001]
    assert mixed.changed == [1, 2]
    assert mixed.unchanged == [3]
    assert mixed.to_analyze == [9001, 1, 2]
    assert store.count_contracts() == 501


def test_it_keeps_the_previous_version_and_first_seen_of_a_changed_contract(
    store: Store, db: psycopg.Connection[Any]
) -> None:
    original = make_contract(7)
    store.upsert_contracts([original])
    before = db.execute("SELECT first_seen_at, version FROM contracts WHERE id = 7").fetchone()
    assert before is not None and before[1] == 1

    newer = amended(original, valor_final=Decimal("20000.00"))
    assert store.upsert_contracts([newer]).changed == [7]

    after = db.execute("SELECT first_seen_at, version, last_seen_at >= changed_at FROM contracts WHERE id = 7").fetchone()
    assert after == (before[0], 2, True)
    versions = db.execute("SELECT version, content_hash, raw FROM contract_versions WHERE contract_id = 7").fetchall()
    assert versions == [(1, original.content_hash, original.raw)]
    stored = store.get_contract(7)
    assert stored == newer and stored is not None and stored.raw == newer.raw


def test_it_reads_back_exactly_what_it_wrote(store: Store) -> None:
    contract = make_contract(
        42, valor_inicial=Decimal("1234567890123.45"), valor_final=None, data_publicacao_dou=None,
        objeto="Reforma do prédio — bloco \"A\", 2º andar", source=Source.PORTAL,
    )
    store.upsert_contracts([contract])
    stored = store.get_contract(42)
    assert stored == contract
    assert stored is not None and stored.raw == contract.raw and stored.content_hash == contract.content_hash
    assert store.get_contract(43) is None


def test_it_keeps_the_last_of_a_repeated_contract_in_one_batch(store: Store) -> None:
    first = make_contract(5)
    last = amended(first, valor_final=Decimal("77.70"))
    result = store.upsert_contracts([first, make_contract(6), last])
    assert result.new == [5, 6]
    assert store.get_contract(5) == last


def test_it_computes_the_hash_when_the_caller_left_it_empty(store: Store) -> None:
    contract = dataclasses.replace(make_contract(8), content_hash="")
    store.upsert_contracts([contract])
    stored = store.get_contract(8)
    assert stored is not None and stored.content_hash == canonical_hash(contract.raw)


def test_it_refuses_a_malformed_contract_before_writing_any(store: Store) -> None:
    bad = make_contract(11, fornecedor_documento="12.345.678/0001-90")
    with pytest.raises(StoreError, match="contract 11: fornecedor_documento"):
        store.upsert_contracts([make_contract(10), bad])
    assert store.count_contracts() == 0
    assert store.upsert_contracts([]).to_analyze == []


def test_it_streams_contracts_by_filter_in_batches(store: Store) -> None:
    contracts = [make_contract(i, orgao_codigo="26000" if i % 2 else "36000") for i in range(1, 31)]
    contracts.append(make_contract(100, data_assinatura=date(2023, 12, 31), modalidade_compra="Dispensa"))
    store.upsert_contracts(contracts)

    streamed = list(store.iter_contracts(ContractFilter(orgao_codigo="26000"), batch_size=4))
    assert [c.id for c in streamed] == [i for i in range(1, 31) if i % 2] + [100]
    in_2024 = list(store.iter_contracts(ContractFilter(signed_from=date(2024, 1, 1), signed_to=date(2024, 12, 31)), batch_size=7))
    assert len(in_2024) == 30
    assert [c.id for c in store.iter_contracts(ContractFilter(modalidade_compra="Dispensa"))] == [100]
    assert [c.id for c in store.iter_contracts(ContractFilter(ids=[3, 100, 555]), batch_size=1)] == [3, 100]
    assert list(store.iter_contracts(ContractFilter(source=Source.PORTAL))) == []
    assert len(list(store.iter_contracts(ContractFilter(ug_codigo="150002", fornecedor_documento="12345678000190")))) == 31
    assert list(store.iter_contracts(ContractFilter(ids=[]))) == []
    with pytest.raises(StoreError, match="batch_size"):
        list(store.iter_contracts(batch_size=0))


def test_it_streams_more_ids_than_one_request_may_name(store: Store) -> None:
    store.upsert_contracts([make_contract(i) for i in range(1, 451)])
    wanted = [*range(450, 0, -2), 450, 9999]  # unordered, a repeat and an id not stored

    streamed = [c.id for c in store.iter_contracts(ContractFilter(ids=wanted, orgao_codigo="26000"), batch_size=60)]
    assert streamed == list(range(2, 451, 2))


def test_it_lists_the_ids_of_the_contracts_a_filter_matches(store: Store) -> None:
    store.upsert_contracts([make_contract(i, orgao_codigo="26000" if i % 3 else "36000") for i in range(1, 451)])

    by_orgao = ContractFilter(orgao_codigo="36000", signed_from=date(2024, 1, 1), signed_to=date(2024, 12, 31))
    assert store.contract_ids(by_orgao, batch_size=40) == list(range(3, 451, 3))
    assert store.contract_ids(by_orgao) == [c.id for c in store.iter_contracts(by_orgao)]
    assert store.contract_ids(ContractFilter(ids=[*range(450, 0, -2), 9999])) == list(range(2, 451, 2))
    assert store.contract_ids(ContractFilter(source=Source.PORTAL)) == []


def test_it_computes_robust_peer_baselines_in_the_database(store: Store) -> None:
    values = [Decimal(v) for v in ("100", "250.50", "300", "1000", "1200", "5000", "80000")]
    store.upsert_contracts([make_contract(i + 1, valor_inicial=v) for i, v in enumerate(values)])
    store.upsert_contracts([make_contract(50, valor_inicial=Decimal("10"), orgao_codigo="99999")])

    logs = [math.log(float(v)) for v in values]
    median = statistics.median(logs)
    baseline = store.peer_baseline(PeerGroup(year=2024, orgao_codigo="26000"))
    assert baseline.n == len(values)
    assert baseline.median == pytest.approx(median)
    assert baseline.mad == pytest.approx(statistics.median(abs(x - median) for x in logs))
    assert baseline.q1 is not None and baseline.q3 is not None and baseline.q1 < baseline.median < baseline.q3
    assert store.peer_baseline(PeerGroup(year=2024)).n == len(values) + 1
    empty = store.peer_baseline(PeerGroup(year=2019))
    assert empty.n == 0 and empty.median is None


def sanction(sanction_id: str, documento: str, lista: str = "CEIS", **changes: Any) -> Sanction:
    values: dict[str, Any] = {
        "nome": "Empresa Sancionada", "tipo": "Impedimento", "data_inicio": date(2023, 1, 1), "data_fim": None,
        "orgao_sancionador": "CGU", "orgao_sancionador_uf": "DF", "abrangencia": "Nacional", "nacional": True,
        "raw": {"id": sanction_id},
    }
    values.update(changes)
    return Sanction(id=sanction_id, lista=lista, documento=documento, **values)


def test_it_mirrors_sanctions_and_finds_them_by_document(store: Store, db: psycopg.Connection[Any]) -> None:
    written = store.upsert_sanctions([
        sanction("1", "11111111000111"), sanction("1", "22222222000122", lista="CNEP"),
        sanction("2", "11111111000111", data_fim=date(2024, 6, 30), nacional=False),
    ])
    assert written == 3
    first_seen = db.execute("SELECT first_seen_at FROM sanctions WHERE lista = 'CEIS' AND id = '1'").fetchone()

    assert store.upsert_sanctions([sanction("1", "11111111000111", nome="Novo Nome")]) == 1
    found = store.sanctions_for(["11111111000111", "33333333000133", ""])
    assert [(s.lista, s.id) for s in found] == [("CEIS", "1"), ("CEIS", "2")]
    assert found[0].nome == "Novo Nome" and found[0].data_fim is None and found[0].nacional is True
    assert found[1].data_fim == date(2024, 6, 30) and found[1].raw == {"id": "2"}
    assert db.execute("SELECT first_seen_at FROM sanctions WHERE lista = 'CEIS' AND id = '1'").fetchone() == first_seen
    assert store.sanctions_for([]) == []
    with pytest.raises(StoreError, match="lista must be CEIS or CNEP"):
        store.upsert_sanctions([sanction("9", "1", lista="XYZ")])


def test_it_finds_other_branches_by_cnpj_root_and_reports_the_mirror_state(store: Store) -> None:
    assert store.sanction_mirror().count == 0 and store.sanction_mirror().last_seen is None
    store.upsert_sanctions([sanction("1", "11111111000111"), sanction("2", "11111111000299"),
                            sanction("3", "11111111222"), sanction("4", "44444444000144")])
    by_root = store.sanctions_for(["11111111000388"], roots=["11111111"])
    assert [s.id for s in by_root] == ["1", "2"]  # the CPF that starts with the same digits is not a branch
    assert store.sanctions_for([], roots=["44444444"])[0].id == "4"
    mirror = store.sanction_mirror()
    assert mirror.count == 4 and mirror.last_seen is not None


def test_it_gives_the_vigencia_of_the_earliest_stored_version(store: Store) -> None:
    def version(fim: str, final: str) -> Any:
        contract = make_contract(41, valor_final=Decimal(final))
        raw = {**contract.raw, "dataInicioVigencia": "01/02/2022", "dataFimVigencia": fim}
        return dataclasses.replace(contract, raw=raw, content_hash=canonical_hash(raw))

    store.upsert_contracts([version("2023-02-01", "100000"), make_contract(42)])
    store.upsert_contracts([version("2024-02-01", "200000")])
    store.upsert_contracts([version("2025-02-01", "300000")])
    first = store.first_vigencias([41, 42, 43])
    assert first == {41: Vigencia(inicio=date(2022, 2, 1), fim=date(2023, 2, 1))}
    assert (first[41].inicio, first[41].fim) == (date(2022, 2, 1), date(2023, 2, 1))
    assert store.first_vigencias([]) == {}


def test_it_drops_nul_characters_postgresql_cannot_store_instead_of_failing_the_batch(store: Store) -> None:
    dirty = make_contract(3, objeto="Serviço\x00 de limpeza")
    dirty = dataclasses.replace(dirty, raw={**dirty.raw, "objeto": "Serviço\x00 de limpeza"})
    result = store.upsert_contracts([make_contract(1), dirty])
    assert result.new == [1, 3]
    stored = store.get_contract(3)
    assert stored is not None and stored.objeto == "Serviço de limpeza" and stored.raw["objeto"] == "Serviço de limpeza"
    assert stored.content_hash == dirty.content_hash  # the hash of the record as received
    assert store.upsert_contracts([dirty]).unchanged == [3]
    assert store.upsert_sanctions([sanction("7", "1234", nome="Nome\x00")]) == 1
    assert store.sanctions_for(["1234"])[0].nome == "Nome"
