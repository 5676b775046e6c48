"""The simulator's answers to the Portal's own paths, with the API's parameter rules.

Each handler takes the parsed query string and returns a :class:`Reply`. Required parameters and
formats are checked the way the Portal checks them: a missing or malformed filter is a 400 with a
plain-text pt-BR body ("Filtros mínimos: …", "O período deve ser de no máximo 1 mês"), query dates
must be ``DD/MM/AAAA``, pages start at 1, every list holds at most 15 records, and a path that does
not exist is a 403 (what the real API answers). ``/contratos`` filters on the vigência period: a
contract is listed when [dataInicioVigencia, dataFimVigencia] overlaps [dataInicial, dataFinal].
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.portal.simulator.catalog import Catalog, page_slice
from shared.portal.simulator.faults import FaultState, corrupt
from shared.portal.wire import add_months, digits

PREFIX = "/api-de-dados"
_BR_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class BadRequest(Exception):
    """A 400 with the plain-text body the Portal would send."""


def json_reply(value: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, text.encode("utf-8"), "text/plain; charset=utf-8")


Query = dict[str, str]


def _required(query: Query, *names: str, label: str) -> None:
    missing = [n for n in names if not query.get(n, "").strip()]
    if missing:
        raise BadRequest(f"Filtros mínimos: {label}. Parâmetro(s) ausente(s): {', '.join(missing)}")


def _page(query: Query) -> int:
    text = query.get("pagina", "").strip()
    if not text.isdigit() or int(text) < 1:
        raise BadRequest(f"O parâmetro pagina deve ser um número inteiro a partir de 1 (recebido: {text!r})")
    return int(text)


def _date(query: Query, name: str) -> date | None:
    text = query.get(name, "").strip()
    if not text:
        return None
    if not _BR_DATE.match(text):
        raise BadRequest(f"Data inválida em {name}: {text!r}. Use o formato DD/MM/AAAA")
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise BadRequest(f"Data inválida em {name}: {text!r}") from None


def _code(query: Query, name: str) -> str:
    text = query.get(name, "").strip()
    if not text.isdigit():
        raise BadRequest(f"O parâmetro {name} deve conter apenas dígitos (recebido: {text!r})")
    return text


def _serve_contracts(records: list[dict[str, Any]], faults: FaultState) -> Reply:
    return json_reply([corrupt(r) if faults.is_malformed(r.get("id")) else r for r in records])


def contratos(catalog: Catalog, faults: FaultState, query: Query) -> Reply:
    _required(query, "codigoOrgao", "pagina", label="Código do Órgão (SIAFI) e Página")
    code, page = _code(query, "codigoOrgao"), _page(query)
    inicial, final = _date(query, "dataInicial"), _date(query, "dataFinal")
    if inicial and final and inicial > final:
        raise BadRequest("A data inicial deve ser anterior ou igual à data final")
    overlap = faults.config.page_overlap
    return _serve_contracts(catalog.contracts_page(code, page, inicial, final, overlap), faults)


def contrato_por_id(catalog: Catalog, faults: FaultState, query: Query) -> Reply:
    _required(query, "id", label="id")
    text = query["id"].strip()
    if not text.isdigit():
        raise BadRequest(f"O parâmetro id deve ser um número inteiro (recebido: {text!r})")
    record = catalog.contract(int(text))
    if record is None:
        return text_reply(404, f"Contrato {text} não encontrado")
    return json_reply(corrupt(record) if faults.is_malformed(record.get("id")) else record)


def contratos_por_fornecedor(catalog: Catalog, faults: FaultState, query: Query) -> Reply:
    _required(query, "cpfCnpj", "pagina", label="CPF/CNPJ e Página")
    document = digits(query["cpfCnpj"])
    if len(document) not in (11, 14):
        raise BadRequest(f"cpfCnpj deve ter 11 (CPF) ou 14 (CNPJ) dígitos (recebido: {query['cpfCnpj']!r})")
    records = catalog.supplier_page(document, _page(query), faults.config.page_overlap)
    return _serve_contracts(records, faults)


def termo_aditivo(catalog: Catalog, faults: FaultState, query: Query) -> Reply:
    """``/contratos/termo-aditivo?id=``: ``[{numero, dataPublicacao, objetoAditivo}]`` (TermoAditivoDTO)."""
    _required(query, "id", label="id")
    text = query["id"].strip()
    if not text.isdigit():
        raise BadRequest(f"O parâmetro id deve ser um número inteiro (recebido: {text!r})")
    return json_reply(catalog.dataset.termos.get(int(text), []))


def orgaos_siafi(catalog: Catalog, faults: FaultState, query: Query) -> Reply:
    _required(query, "pagina", label="Página")
    page = _page(query)
    codigo = query.get("codigo", "").strip()
    descricao = query.get("descricao", "").strip().lower()
    rows = [o for o in catalog.orgaos
            if (not codigo or str(o.get("codigo")) == codigo)
            and (not descricao or descricao in str(o.get("descricao", "")).lower())]
    return json_reply(page_slice(rows, page))


def _sanctions(records: list[dict[str, Any]], query: Query) -> Reply:
    _required(query, "pagina", label="Página")
    page = _page(query)
    document = digits(query.get("codigoSancionado", ""))
    inicial, final = _date(query, "dataInicialSancao"), _date(query, "dataFinalSancao")
    rows = []
    for record in records:
        if document and digits((record.get("sancionado") or {}).get("codigoFormatado")) != document:
            continue
        if inicial or final:
            try:
                started = datetime.strptime(str(record.get("dataInicioSancao")), "%d/%m/%Y").date()
            except ValueError:
                started = date.fromisoformat(str(record.get("dataInicioSancao"))[:10])
            if (inicial and started < inicial) or (final and started > final):
                continue
        rows.append(record)
    return json_reply(page_slice(rows, page))


def ceis(catalog: Catalog, faults: FaultState, query: Query) -> Reply:
    return _sanctions(catalog.dataset.ceis, query)


def cnep(catalog: Catalog, faults: FaultState, query: Query) -> Reply:
    return _sanctions(catalog.dataset.cnep, query)


def licitacoes(catalog: Catalog, faults: FaultState, query: Query) -> Reply:
    _required(query, "codigoOrgao", "pagina", "dataInicial", "dataFinal",
              label="Código do Órgão, Data inicial, Data final e Página")
    code, page = _code(query, "codigoOrgao"), _page(query)
    inicial, final = _date(query, "dataInicial"), _date(query, "dataFinal")
    assert inicial is not None and final is not None
    if inicial > final:
        raise BadRequest("A data inicial deve ser anterior ou igual à data final")
    if final > add_months(inicial, 1):
        raise BadRequest("O período deve ser de no máximo 1 mês")
    return json_reply(catalog.licitacoes_page(code, page, inicial, final))


ROUTES: dict[str, Callable[[Catalog, FaultState, Query], Reply]] = {
    "/contratos": contratos,
    "/contratos/id": contrato_por_id,
    "/contratos/cpf-cnpj": contratos_por_fornecedor,
    "/contratos/termo-aditivo": termo_aditivo,
    "/orgaos-siafi": orgaos_siafi,
    "/ceis": ceis,
    "/cnep": cnep,
    "/licitacoes": licitacoes,
}


def answer(catalog: Catalog, faults: FaultState, path: str, query: Query) -> Reply:
    """The reply to ``GET /api-de-dados<path>`` once faults and the rate limit have let it through."""
    handler = ROUTES.get(path.rstrip("/") or "/")
    if handler is None:
        return text_reply(403, "Acesso negado")  # the real API answers 403 for unknown paths
    try:
        return handler(catalog, faults, query)
    except BadRequest as error:
        return text_reply(400, str(error))
