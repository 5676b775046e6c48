"""The page at ``/`` and the offline ``/docs``, served by the real app over the real database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.page.present import indicator_title
from shared.config import Settings
from shared.domain import Severity
from shared.store.base import Store
from tests.integration.api.conftest import WRITE_KEY, api_settings, seed_investigation

pytestmark = pytest.mark.integration


class _Links(HTMLParser):
    """Every URL the page makes a browser fetch or offers to follow."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value:
                self.urls.append(value)


def _urls(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls + re.findall(r"""url\(['"]?([^'")]+)""", html) + re.findall(r"""["'](https?://[^"']+)""", html)


def test_it_lists_investigations_with_risk_severity_and_indicators(client: TestClient, store: Store, orgao: str) -> None:
    seeded = seed_investigation(store, orgao, risk=0.91, findings=[("price_outlier", Severity.CRITICAL)])
    page = client.get("/", params={"orgao": orgao})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="pt-BR">' in html and 'role="main"' in html and 'role="search"' in html
    assert f'href="/investigacoes/{seeded.investigation.id}"' in html
    assert "0,91" in html and "crítica" in html and indicator_title("price_outlier") in html
    assert '<th scope="col">Risco</th>' in html.replace(' class="num"', "")


def test_it_filters_by_indicator_and_severity(client: TestClient, store: Store, orgao: str) -> None:
    high = seed_investigation(store, orgao, findings=[("late_publication", Severity.HIGH)])
    low = seed_investigation(store, orgao, findings=[("duplicate_contract", Severity.LOW)])
    by_indicator = client.get("/", params={"orgao": orgao, "indicator": "late_publication"}).text
    assert high.investigation.id in by_indicator and low.investigation.id not in by_indicator
    by_severity = client.get("/", params={"orgao": orgao, "severity": "high"}).text
    assert high.investigation.id in by_severity and low.investigation.id not in by_severity
    ignored = client.get("/", params={"orgao": "x'1", "severity": "enorme"})
    assert ignored.status_code == 200 and "ignorad" in ignored.text


def test_it_shows_each_finding_with_explanation_legal_basis_numbers_and_a_portal_link(
    client: TestClient, store: Store, orgao: str
) -> None:
    seeded = seed_investigation(store, orgao, findings=[("split_below_dispensa", Severity.MEDIUM)])
    html = client.get(f"/investigacoes/{seeded.investigation.id}").text
    assert seeded.findings[0].explanation in html
    assert "Lei 14.133 art. 75" in html  # from the indicator's documented legal basis
    assert "3,5" in html and "median" in html  # value and the baseline's numbers
    link = next(u for u in _urls(html) if u.startswith("https://portaldatransparencia.gov.br/"))
    parts = urlsplit(link.replace("&amp;", "&"))
    assert parts.path == "/contratos/consulta"
    assert parse_qs(parts.query)["orgaos"] == [f"OS{orgao}"] and parse_qs(parts.query)["numeroContrato"] == ["000122024"]


def test_it_answers_an_unknown_investigation_with_a_404_page(client: TestClient) -> None:
    for path in ("/investigacoes/not-a-uuid", "/investigacoes/00000000-0000-0000-0000-000000000000"):
        response = client.get(path)
        assert response.status_code == 404 and "não encontrada" in response.text


def test_it_ranks_orgaos_with_an_inline_svg_chart(client: TestClient, store: Store, orgao: str) -> None:
    seed_investigation(store, orgao, risk=0.7)
    html = client.get("/orgaos").text
    assert "<svg" in html and 'role="img"' in html and "<rect" in html
    assert f'href="/?orgao={orgao}"' in html


def test_it_asks_for_a_key_when_reads_require_one(database_url: str, redis_url: str) -> None:
    settings: Settings = api_settings(database_url, redis_url, api_read_key_required=True)
    with TestClient(create_app(settings)) as locked:
        for path in ("/", "/orgaos", "/investigacoes/00000000-0000-0000-0000-000000000000"):
            response = locked.get(path)
            assert response.status_code == 401 and "X-API-Key" in response.text
            assert "<table" not in response.text
        assert locked.get("/", headers={"X-API-Key": WRITE_KEY}).status_code == 200


@pytest.fixture(scope="module")
def docs(client: TestClient) -> Iterator[str]:
    response = client.get("/docs")
    assert response.status_code == 200
    yield response.text


def test_it_serves_swagger_ui_from_its_own_files(client: TestClient, docs: str) -> None:
    urls = _urls(docs)
    external = [u for u in urls if urlsplit(u).netloc]
    assert not external, f"/docs names other hosts: {external}"
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts and all(client.get(u).status_code == 200 for u in scripts + [u for u in urls if u.endswith(".css")])
    assert client.get(scripts[0]).headers["content-type"].startswith("text/javascript")
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN: not offered
