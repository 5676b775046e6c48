"""The Portal da Transparência client: typed endpoints over one retrying, rate-limited transport.

Build one per process (:meth:`PortalClient.from_settings` in ``worker_process_init``) and share it
between threads: the httpx connection pool, the circuit breaker and the Redis-backed limiter are
all thread-safe. Required parameters are checked before anything is sent
(:class:`~shared.portal.errors.InvalidRequest`), list endpoints are iterators of typed pages
(:class:`~shared.portal.paging.Page`) that start at ``first_page`` and fetch the next page only
when the caller asks for it, and every record is parsed with the real field names (see
:mod:`shared.portal.models`). Records from the simulator carry ``Source.SIMULATOR``; a client
built for production refuses the simulator outright.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from shared.domain import Contract, Sanction, Source
from shared.portal.breaker import CircuitBreaker
from shared.portal.errors import InvalidRequest, PermanentRequestError
from shared.portal.models import (
    TermoAditivo,
    parse_contract,
    parse_orgao,
    parse_sanction,
    parse_termo_aditivo,
)
from shared.portal.paging import Page, iter_pages
from shared.portal.ratelimit import Limiter, RateLimiter
from shared.portal.transport import PortalTransport, RetryPolicy
from shared.portal.wire import API_KEY_HEADER, format_date

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger("vigia.portal")

T = TypeVar("T")

# The key the client presents to the local simulator when no real key is configured.
SIMULATOR_DEV_KEY = "vigia-simulator-dev-key"
# The real Portal's API host: the simulator's placeholder key is never sent there.
PORTAL_HOST = "api.portaldatransparencia.gov.br"


class PortalNotConfigured(PermanentRequestError):
    """No TRANSPARENCY_API_KEY, and TRANSPARENCY_API_URL is the real Portal: nothing can be sent."""


def is_real_portal(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host == PORTAL_HOST or host.endswith(".portaldatransparencia.gov.br")


def check_portal_settings(settings: Settings) -> None:
    """Raise :class:`PortalNotConfigured` when a client would send the placeholder key to the real Portal."""
    if settings.uses_simulator and is_real_portal(settings.transparency_api_url):
        raise PortalNotConfigured(
            f"no TRANSPARENCY_API_KEY is set and TRANSPARENCY_API_URL is the real Portal "
            f"({settings.transparency_api_url}), which refuses requests without a key: set "
            "TRANSPARENCY_API_KEY, or point TRANSPARENCY_API_URL at the simulator "
            "(`vigia simulator serve` serves http://127.0.0.1:8090/api-de-dados), or run `make run`, "
            "whose simulator the commands of a second terminal find through .vigia/env"
        )
_CODIGO = re.compile(r"^\d{1,10}$")


def _orgao_code(codigo_orgao: object) -> str:
    code = str(codigo_orgao).strip() if codigo_orgao is not None else ""
    if not _CODIGO.match(code):
        raise InvalidRequest(f"codigoOrgao is required and must be a SIAFI code of digits, got {codigo_orgao!r}")
    return code


def _contract_id(contract_id: object) -> int:
    if isinstance(contract_id, bool) or not isinstance(contract_id, int) or contract_id <= 0:
        raise InvalidRequest(f"id must be a positive integer, got {contract_id!r}")
    return contract_id


def _window(data_inicial: date | None, data_final: date | None) -> dict[str, str]:
    for name, value in (("dataInicial", data_inicial), ("dataFinal", data_final)):
        if value is not None and not isinstance(value, date):
            raise InvalidRequest(f"{name} must be a date, got {type(value).__name__} {value!r}")
    if data_inicial and data_final and data_inicial > data_final:
        raise InvalidRequest(f"dataInicial {data_inicial} is after dataFinal {data_final}")
    params: dict[str, str] = {}
    if data_inicial is not None:
        params["dataInicial"] = format_date(data_inicial)
    if data_final is not None:
        params["dataFinal"] = format_date(data_final)
    return params


class PortalClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        source: Source,
        timeout: float,
        retry: RetryPolicy,
        breaker: CircuitBreaker,
        limiter: Limiter | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_simulator: bool = True,
    ) -> None:
        if source is Source.SIMULATOR and not allow_simulator:
            raise PermanentRequestError(
                "a production process refuses the Portal simulator: set TRANSPARENCY_API_KEY "
                "and TRANSPARENCY_API_URL to the real Portal"
            )
        if not base_url.startswith(("http://", "https://")):
            raise InvalidRequest(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.source = source
        headers = {"Accept": "application/json", "User-Agent": "vigia-portal-client/1"}
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            transport=transport,
            follow_redirects=False,
        )
        self.breaker = breaker
        self.limiter = limiter
        # Simulated rows must never be stored as real ones: a client for the real Portal (or any
        # production client) refuses an answer that carries the simulator's header.
        self.transport = PortalTransport(
            self._http, api_key=api_key, limiter=limiter, breaker=self.breaker, retry=retry,
            allow_simulator=allow_simulator and source is Source.SIMULATOR,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, redis_client: Any | None = None, *, max_retries: int | None = None, **overrides: Any
    ) -> PortalClient:
        """The process's client: the simulator without a key (refused in production), the Portal with one.

        The one place a client is built from settings: timeout, retries, breaker and limiter all
        come from them. ``redis_client`` enables the shared rate limiter; every process that calls
        the real API must pass one, or the per-key budget cannot hold across the deployment.
        ``max_retries`` replaces ``PORTAL_MAX_RETRIES``; ``overrides`` replace constructor arguments.
        """
        if not settings.is_production:  # production refuses a key-less client in the constructor
            check_portal_settings(settings)
        key = settings.transparency_api_key.get_secret_value() if settings.transparency_api_key else None
        source = Source.SIMULATOR if settings.uses_simulator else Source.PORTAL
        options: dict[str, Any] = {
            "base_url": settings.transparency_api_url,
            "api_key": key if key else SIMULATOR_DEV_KEY,
            "source": source,
            "limiter": RateLimiter.from_settings(settings, redis_client) if redis_client is not None else None,
            "timeout": settings.portal_timeout_seconds,
            "retry": RetryPolicy.from_settings(settings, max_retries=max_retries),
            "breaker": CircuitBreaker.from_settings(settings),
            "allow_simulator": not settings.is_production,
        }
        options.update(overrides)
        return cls(**options)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- contracts ------------------------------------------------------------------------------
    def iter_contract_pages(
        self, codigo_orgao: str, *, data_inicial: date | None = None, data_final: date | None = None,
        first_page: int = 1,
    ) -> Iterator[Page[Contract]]:
        """An órgão's contracts whose vigência overlaps the window, page by page from ``first_page``
        (a continued sweep resumes at its cursor), deduplicated by id."""
        params = {"codigoOrgao": _orgao_code(codigo_orgao), **_window(data_inicial, data_final)}
        return self._pages("/contratos", params, lambda raw: parse_contract(raw, source=self.source),
                           lambda contract: contract.id, first_page=first_page)

    def get_contract(self, contract_id: int) -> Contract | None:
        """One contract by its Portal id; None when the API has no such contract.

        Raises MalformedRecord (an InvalidResponse) when the record it returns cannot be parsed.
        """
        body = self.transport.get_json("/contratos/id", {"id": _contract_id(contract_id)}, none_on_404=True)
        if body is None or body == {} or body == []:
            return None
        if isinstance(body, list):
            body = body[0]
        return parse_contract(body, source=self.source)

    def termos_aditivos(self, contract_id: int) -> list[TermoAditivo]:
        """The termos aditivos of one contract: ``GET /contratos/termo-aditivo?id=<id>``, answered
        as ``[{numero, dataPublicacao, objetoAditivo}]`` (the Portal's TermoAditivoDTO), through the
        shared rate limiter like every call. An empty list when the contract has none (or the API
        answers 404).

        Raises MalformedRecord (an InvalidResponse) when a termo in the answer cannot be read.
        """
        body = self.transport.get_json("/contratos/termo-aditivo", {"id": _contract_id(contract_id)}, expect=list,
                                       none_on_404=True)
        return [parse_termo_aditivo(raw) for raw in body or []]

    # -- reference lists ------------------------------------------------------------------------
    def iter_orgaos(self, *, codigo: str | None = None, descricao: str | None = None) -> Iterator[dict[str, Any]]:
        """``/orgaos-siafi`` as ``{"codigo", "descricao"}`` dicts, every page, each código once."""
        params: dict[str, Any] = {}
        if codigo is not None:
            params["codigo"] = _orgao_code(codigo)
        if descricao:
            params["descricao"] = descricao
        for page in self._pages("/orgaos-siafi", params, parse_orgao, lambda orgao: orgao["codigo"]):
            for item in page.rejected:
                log.warning("rejected órgão entry", extra={"reason": item.reason, "page": page.number})
            yield from page.items

    def iter_sanction_pages(self, lista: str, *, first_page: int = 1) -> Iterator[Page[Sanction]]:
        """The whole CEIS or CNEP (``lista`` = "ceis" | "cnep") page by page from ``first_page``,
        deduplicated by id."""
        name = str(lista).lower()
        if name not in {"ceis", "cnep"}:
            raise InvalidRequest(f"lista must be 'ceis' or 'cnep', got {lista!r}")
        return self._pages(f"/{name}", {}, lambda raw: parse_sanction(raw, name, source=self.source),
                           lambda sanction: sanction.id, first_page=first_page)

    def _pages(
        self, endpoint: str, params: dict[str, Any], parse: Callable[[Any], T], key: Callable[[T], Hashable],
        *, first_page: int = 1,
    ) -> Iterator[Page[T]]:
        if isinstance(first_page, bool) or not isinstance(first_page, int) or first_page < 1:
            raise InvalidRequest(f"first_page must be a page number from 1, got {first_page!r}")
        return iter_pages(lambda n: self.transport.get_json(endpoint, {**params, "pagina": n}, expect=list),
                          parse, key, first_page=first_page)
