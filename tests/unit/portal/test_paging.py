"""When paging stops, and what one bad record costs: only itself, with its reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.domain import Source
from shared.portal.errors import MalformedRecord
from shared.portal.models import parse_contract
from shared.portal.paging import iter_pages


def _pages(sizes: list[int]) -> tuple[list[int], Any]:
    asked: list[int] = []

    def fetch(number: int) -> list[dict[str, Any]]:
        asked.append(number)
        size = sizes[number - 1] if number <= len(sizes) else 0
        return [{"id": number * 1000 + i} for i in range(size)]

    return asked, fetch


@pytest.mark.parametrize(
    ("sizes", "pages_asked"),
    [
        ([15, 15, 4], [1, 2, 3]),  # the Portal as documented: a short page ends it
        ([10, 10, 10, 3], [1, 2, 3, 4]),  # pages of 10 (were the size ever smaller): all of them
        ([10, 10, 10], [1, 2, 3, 4]),  # a full last page: the empty one after it ends it
        ([3], [1, 2]),  # one short page: confirmed by an empty one
        ([], [1]),
    ],
)
def test_it_stops_at_an_empty_page_or_one_shorter_than_the_longest_seen(sizes: list[int], pages_asked: list[int]) -> None:
    asked, fetch = _pages(sizes)
    pages = list(iter_pages(fetch, lambda raw: raw["id"], lambda item: item))
    assert asked == pages_asked
    assert sum(len(p.items) for p in pages) == sum(sizes)


def _contract(contract_id: Any, objeto: str = "Aquisição") -> dict[str, Any]:
    return {"id": contract_id, "objeto": objeto, "numero": "1/2024",
            "unidadeGestora": {"codigo": "1", "nome": "UG", "orgaoVinculado": {"codigoSIAFI": "26000", "nome": "O"},
                               "orgaoMaximo": {"codigo": "26000", "nome": "O"}}}


def test_it_rejects_only_the_record_with_a_lone_surrogate_or_an_id_past_bigint() -> None:
    # As the wire delivers it: a JSON escape that decodes to a lone surrogate.
    page_json = json.dumps([_contract(1), _contract(2, "x"), _contract(2**63), _contract(3)]).replace(
        '"objeto": "x"', '"objeto": "bad \\ud800 text"')
    records = json.loads(page_json)
    page, empty = list(iter_pages(lambda n: records if n == 1 else [], lambda raw: parse_contract(raw, source=Source.PORTAL),
                              lambda contract: contract.id))
    assert [c.id for c in page.items] == [1, 3] and empty.items == []
    reasons = sorted(r.reason for r in page.rejected)
    assert reasons == ["id 9223372036854775808 is beyond 2^63 - 1, the largest id that can be stored",
                       "objeto holds a lone UTF-16 surrogate, which is not text that can be stored"]
    for reason in reasons:
        reason.encode("utf-8")  # the reason itself is loggable text


def test_it_names_a_lone_surrogate_in_a_key_or_a_nested_list_too() -> None:
    in_key = {**_contract(4), "bad\ud800key": "x"}
    in_list = {**_contract(5), "itens": [{"nome": "ok"}, {"nome": "bad \udfff"}]}
    with pytest.raises(MalformedRecord, match="holds a lone UTF-16 surrogate"):
        parse_contract(in_key, source=Source.PORTAL)
    with pytest.raises(MalformedRecord, match=r"itens\[1\]\.nome holds a lone UTF-16 surrogate"):
        parse_contract(in_list, source=Source.PORTAL)
    assert parse_contract(_contract(6, "acentuação e símbolos €"), source=Source.PORTAL).id == 6
