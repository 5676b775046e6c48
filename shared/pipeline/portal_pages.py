"""Contract and sanction pages from a given page on, so a continued sweep resumes where it stopped.

Page 1 goes through the client's public iterators. A continuation (page n > 1) uses the same
transport, parser and page loop (:func:`shared.portal.paging.iter_pages`) starting at page n,
because the client's iterators always start at page 1.
"""

from __future__ import annotations

from collections.abc import Iterator

from shared.pipeline.windows import Window
from shared.portal.client import PortalClient
from shared.portal.models import parse_contract, parse_sanction
from shared.portal.paging import ContractPage, SanctionPage, iter_pages
from shared.portal.wire import format_date


def contract_pages(client: PortalClient, orgao: str, window: Window, *, first_page: int = 1) -> Iterator[ContractPage]:
    if first_page <= 1:
        yield from client.iter_contract_pages(orgao, data_inicial=window.data_inicial, data_final=window.data_final)
        return
    params = {"codigoOrgao": orgao, "dataInicial": format_date(window.data_inicial),
              "dataFinal": format_date(window.data_final)}
    pages = iter_pages(
        lambda n: client.transport.get_json("/contratos", {**params, "pagina": n}, expect=list),
        lambda raw: parse_contract(raw, source=client.source),
        lambda contract: contract.id,
        first_page=first_page,
    )
    for page in pages:
        yield ContractPage(page.number, page.items, page.rejected, page.raw_count, page.duplicates)


def sanction_pages(client: PortalClient, lista: str, *, first_page: int = 1) -> Iterator[SanctionPage]:
    if first_page <= 1:
        yield from client.iter_sanctions(lista)
        return
    pages = iter_pages(
        lambda n: client.transport.get_json(f"/{lista}", {"pagina": n}, expect=list),
        lambda raw: parse_sanction(raw, lista, source=client.source),
        lambda sanction: sanction.id,
        first_page=first_page,
    )
    for page in pages:
        yield SanctionPage(page.number, page.items, page.rejected, page.raw_count, page.duplicates)
