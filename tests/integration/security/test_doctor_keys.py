"""``vigia doctor`` and keys: it never follows a redirect with the Portal key, and with
API_READ_KEY_REQUIRED it fails while Supabase's public roles can still read around the API
(checked on PostgreSQL directly and through the PostgREST stand-in, as on Supabase)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest

from services.commands.doctor.checks import check_database, check_portal, check_public_reads, run_checks
from shared.config import Settings
from tests.support.databases import temporary_database
from tests.support.postgrest import running_postgrest

pytestmark = pytest.mark.integration

PORTAL_KEY = "doctor-redirect-key-0123456789abcdef"  # pragma: allowlist secret


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []
    redirect_to = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to + self.path)
            self.end_headers()
            return
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_it_does_not_follow_a_redirect_with_the_portal_key() -> None:
    elsewhere_handler = type("Elsewhere", (_Recorder,), {"seen": [], "redirect_to": ""})
    elsewhere, elsewhere_url = _serve(elsewhere_handler)
    portal_handler = type("Portal", (_Recorder,), {"seen": [], "redirect_to": elsewhere_url})
    portal, portal_url = _serve(portal_handler)
    try:
        settings = Settings(_env_file=None, environment="production", transparency_api_key=PORTAL_KEY,  # type: ignore[arg-type]
                            transparency_api_url=portal_url + "/api-de-dados")
        (result,) = run_checks(settings, checks=[check_portal])
    finally:
        portal.shutdown()
        elsewhere.shutdown()
    assert portal_handler.seen and portal_handler.seen[0]["chave-api-dados"] == PORTAL_KEY
    assert elsewhere_handler.seen == []  # the key never left for the redirect's target
    assert result.verdict == "fail" and "redirect" in result.detail and PORTAL_KEY not in result.detail


@pytest.fixture
def migrated(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, prefix="vigia_public_reads", migrated=True) as url:
        yield url


def _roles_exist(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname IN ('anon', 'authenticated')").fetchone()
    return bool(row and row[0] == 2)


def test_it_fails_while_public_roles_read_around_the_read_key_then_passes_once_closed(migrated: str) -> None:
    if not _roles_exist(migrated):
        pytest.skip("the migrating user could not create the anon and authenticated roles")
    settings = Settings(_env_file=None, database_url=migrated, api_read_key_required=True)  # type: ignore[arg-type]
    before = {c.name: c for c in run_checks(settings, checks=[check_database, check_public_reads])}
    assert before["public_reads"].verdict == "fail"
    assert "anon" in before["public_reads"].detail and "vigia_close_public_reads" in before["public_reads"].fix
    with running_postgrest(migrated) as postgrest:
        via_rest = Settings(_env_file=None, supabase_url=postgrest.url,  # type: ignore[arg-type]
                            supabase_service_role_key=postgrest.service_key, api_read_key_required=True)
        assert {c.name: c.verdict for c in run_checks(via_rest, checks=[check_public_reads])} == {"public_reads": "fail"}
        with psycopg.connect(migrated, autocommit=True) as conn:
            conn.execute("SELECT vigia_close_public_reads()")
            row = conn.execute("SELECT has_any_column_privilege('anon', 'investigations', 'SELECT')").fetchone()
            assert row is not None and row[0] is False
        assert {c.name: c.verdict for c in run_checks(via_rest, checks=[check_public_reads])} == {"public_reads": "pass"}
    after = {c.name: c for c in run_checks(settings, checks=[check_database, check_public_reads])}
    assert after["public_reads"].verdict == "pass"


def test_it_adds_the_public_reads_check_only_when_read_keys_are_required(migrated: str) -> None:
    open_reads = Settings(_env_file=None, database_url=migrated)  # type: ignore[arg-type]
    assert "public_reads" not in {c.name for c in run_checks(open_reads, processes=["web"])}
