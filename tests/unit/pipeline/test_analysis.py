"""Termos aditivos for the amendment indicator's candidates: read when the Portal answers, "unknown" when not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from shared.pipeline.analysis import termos_aditivos
from shared.portal.errors import PortalUnavailable
from shared.portal.models import TermoAditivo
from tests.unit.detection.helpers import contract


class Portal:
    def __init__(self, fail: bool) -> None:
        self.fail, self.asked = fail, []

    def termos_aditivos(self, contract_id: int) -> list[TermoAditivo]:
        self.asked.append(contract_id)
        if self.fail:
            raise PortalUnavailable("GET /contratos/termo-aditivo: 503")
        return [TermoAditivo("1", None, "Prorrogação da vigência")]


def test_it_asks_only_for_candidates_and_degrades_to_unknown() -> None:
    grown = contract(valor_inicial=100_000, valor_final=160_000)
    flat = contract(valor_inicial=100_000, valor_final=100_000)
    answering: Any = SimpleNamespace(portal=Portal(fail=False))
    assert termos_aditivos(answering, [grown, flat]) == {grown.id: ("Prorrogação da vigência",)}
    assert answering.portal.asked == [grown.id]
    failing: Any = SimpleNamespace(portal=Portal(fail=True))
    assert termos_aditivos(failing, [grown, flat]) == {grown.id: None}
