"""The store's front: what it refuses before any backend request, and the requests it asks for."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.domain import Contract, RunStatus, Source, Trigger
from shared.store.base import ContractFilter, NotFound, Store, StoreError
from shared.store.commands import Condition


def make_contract(contract_id: int) -> Contract:
    return Contract(id=contract_id, source=Source.SIMULATOR, raw={"id": contract_id})


def _refuse(self: Store, *args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the front asked its backend for a request it should have refused itself")


# A store whose every backend hook fails the test if called.
Refusing: type[Store] = type("Refusing", (Store,), dict.fromkeys(Store.__abstractmethods__, _refuse))


class Recording(Refusing):  # type: ignore[misc,valid-type]
    """Answers ``iter_contracts`` pages from ``stored`` and records the conditions of each request."""

    def __init__(self, stored: list[int], ids_per_request: int | None) -> None:
        self.stored = stored
        self.ids_per_request = ids_per_request
        self.requests: list[list[Condition]] = []

    def _contract_rows(self, conditions: list[Condition], limit: int, detail: str, *,
                       id_only: bool) -> list[dict[str, Any]]:
        self.requests.append(conditions)
        after = next(c.value for c in conditions if c.op == "gt")
        wanted = next((set(c.value) for c in conditions if c.op == "in"), None)
        ids = [i for i in self.stored if i > after and (wanted is None or i in wanted)][:limit]
        return [{"id": i} if id_only else {"id": i, "source": "simulator"} for i in ids]


@pytest.mark.parametrize("call", [
    lambda s: list(s.iter_contracts(batch_size=0)),
    lambda s: s.list_investigations(sort="score"),
    lambda s: s.list_investigations(limit=-1),
    lambda s: s.list_investigations(offset=10, after=object()),
    lambda s: s.set_progress("00000000-0000-0000-0000-000000000000", 1.5),
    lambda s: s.create_or_get_investigation(contract_id=None, orgao_codigo=None, trigger=Trigger.ON_DEMAND,
                                            detector_version="v"),
    lambda s: s.close_run(1, status=RunStatus.RUNNING),
    lambda s: s.add_run_counters(1, {"pages": 1.5}),
    lambda s: s.open_run("t", {"bad": float("nan")}),
    lambda s: s.upsert_contracts([make_contract(-1)]),
])
def test_it_refuses_bad_arguments_before_asking_a_backend(call: Any) -> None:
    with pytest.raises(StoreError):
        call(Refusing())


def test_it_answers_without_a_backend_what_needs_no_request() -> None:
    store = Refusing()
    assert store.upsert_contracts([]).to_analyze == []
    assert store.upsert_sanctions([]) == 0
    assert store.first_vigencias([]) == {}
    assert store.sanctions_for([""], roots=["123"]) == []
    assert list(store.iter_contracts(ContractFilter(ids=[]))) == []
    assert store.get_investigation("not-a-uuid") is None
    with pytest.raises(NotFound, match=r"mark_running\(not-a-uuid\)"):
        store.mark_running("not-a-uuid")


def test_it_pages_by_id_and_splits_the_ids_a_request_may_name() -> None:
    store = Recording(stored=list(range(1, 11)), ids_per_request=3)
    wanted = ContractFilter(ids=[9, 1, 2, 2, 5, 7, 8, 40], source=Source.SIMULATOR, signed_from=date(2024, 1, 1))

    assert [c.id for c in store.iter_contracts(wanted, batch_size=2)] == [1, 2, 5, 7, 8, 9]
    named = [next(c.value for c in r if c.op == "in") for r in store.requests]
    assert named == [[1, 2, 5], [1, 2, 5], [7, 8, 9], [7, 8, 9], [40]]
    assert all(Condition("source", "eq", "simulator") in r for r in store.requests)
    assert all(Condition("data_assinatura", "gte", date(2024, 1, 1)) in r for r in store.requests)


def test_it_names_every_id_in_one_request_when_the_backend_has_no_limit() -> None:
    store = Recording(stored=list(range(1, 500)), ids_per_request=None)

    assert len(list(store.iter_contracts(ContractFilter(ids=range(1, 400)), batch_size=1000))) == 399
    assert len(store.requests) == 1


def test_it_lists_the_ids_of_the_contracts_it_would_stream_page_by_page() -> None:
    store = Recording(stored=list(range(1, 11)), ids_per_request=3)
    wanted = ContractFilter(ids=[9, 1, 2, 5, 7, 8, 40])

    assert store.contract_ids(wanted, batch_size=2) == [c.id for c in store.iter_contracts(wanted)] == [1, 2, 5, 7, 8, 9]
    assert store.contract_ids(ContractFilter(), batch_size=4) == list(range(1, 11))
    with pytest.raises(StoreError, match="contract_ids: batch_size"):
        store.contract_ids(batch_size=0)
