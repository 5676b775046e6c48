"""Fixtures of the store tests: a migrated database of this module's own, both backends on it.

``store`` is parametrised over the PostgreSQL backend and the Supabase backend (through the
PostgREST stand-in on the same database), so every test that takes it runs twice. Tables are
emptied before each test, so each starts from an empty schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from shared.domain import Contract, Finding, Severity, Source, canonical_hash
from shared.store.base import Store
from tests.conftest import create_database, drop_database
from tests.support.postgrest import PostgrestStandIn, running_postgrest

# children first; DELETE rather than TRUNCATE: on a few rows it is milliseconds, not a file swap per table
TABLES = (
    "investigation_feedback", "findings", "orgao_findings", "investigations", "contract_versions", "contracts",
    "sanctions", "monitor_runs", "ml_training_datasets",
)


@pytest.fixture(scope="package")
def store_database_url(postgres_admin_url: str) -> Iterator[str]:
    from shared.store.migrate import migrate

    url = create_database(postgres_admin_url, prefix="vigia_store")
    migrate(url)
    try:
        yield url
    finally:
        drop_database(postgres_admin_url, url)


@pytest.fixture(scope="package")
def postgrest(store_database_url: str) -> Iterator[PostgrestStandIn]:
    with running_postgrest(store_database_url) as server:
        yield server


@pytest.fixture
def db(store_database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection to look under the store, on emptied tables."""
    with psycopg.connect(store_database_url, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")
        yield conn


@pytest.fixture(params=["postgres", "supabase"])
def store(request: pytest.FixtureRequest, db: psycopg.Connection[Any], store_database_url: str) -> Iterator[Store]:
    if request.param == "postgres":
        from shared.store.postgres import PostgresStore

        backend: Any = PostgresStore(store_database_url, application_name="vigia-store-tests")
    else:
        from shared.store.supabase import SupabaseStore

        server: PostgrestStandIn = request.getfixturevalue("postgrest")
        backend = SupabaseStore(server.url, server.service_key)
    try:
        yield backend
    finally:
        backend.close()


def make_contract(contract_id: int, **changes: Any) -> Contract:
    """A contract as the Portal parser would produce it, its raw JSON and hash included."""
    values: dict[str, Any] = {
        "numero": f"{contract_id % 1000:03d}/2024",
        "objeto": "Aquisição de material de escritório",
        "modalidade_compra": "Pregão",
        "fundamento_legal": "Lei 14.133/2021",
        "situacao": "Ativo",
        "orgao_codigo": "26000",
        "orgao_nome": "Ministério da Educação",
        "ug_codigo": "150002",
        "ug_nome": "UG 150002",
        "fornecedor_documento": "12345678000190",
        "fornecedor_nome": "Fornecedor Ltda",
        "data_assinatura": date(2024, 3, 1 + contract_id % 28),
        "data_publicacao_dou": date(2024, 3, 5),
        "valor_inicial": Decimal("12345.67") + contract_id,
        "valor_final": Decimal("13000.10") + contract_id,
    }
    values.update(changes)
    raw = {
        "id": contract_id,
        "numero": values["numero"],
        "objeto": values["objeto"],
        "valorInicialCompra": str(values["valor_inicial"]),
        "valorFinalCompra": str(values["valor_final"]),
        "dataAssinatura": values["data_assinatura"].isoformat() if values["data_assinatura"] else None,
        "unidadeGestora": {"codigo": values["ug_codigo"], "orgaoVinculado": {"codigoSIAFI": values["orgao_codigo"]}},
        "fornecedor": {"cnpjFormatado": values["fornecedor_documento"], "nome": values["fornecedor_nome"]},
    }
    source = values.pop("source", Source.SIMULATOR)
    return Contract(id=contract_id, source=source, raw=raw, content_hash=canonical_hash(raw), **values)


def make_finding(indicator: str = "price_outlier", *, subject_id: str = "1", severity: Severity = Severity.HIGH,
                 score: float = 0.8, **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "subject_type": "contract",
        "explanation": f"{indicator}: valor acima do esperado para o grupo de pares",
        "contract_id": int(subject_id) if subject_id.isdigit() else None,
        "orgao_codigo": "26000",
        "value": 4.2,
        "threshold": 3.5,
        "baseline": {"n": 31, "median": 9.1, "mad": 0.4},
        "fields": {"valor_inicial": "12345.67"},
    }
    values.update(changes)
    return Finding(indicator=indicator, severity=severity, score=score, subject_id=subject_id, **values)
