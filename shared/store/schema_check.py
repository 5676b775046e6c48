"""Is the schema applied and current, asked over Supabase's REST API (PostgREST) alone?

A deployment with only ``SUPABASE_URL`` and ``SUPABASE_SERVICE_ROLE_KEY`` has no direct database
connection, so its release step cannot apply migrations; it checks instead. It calls
``POST /rest/v1/rpc/vigia_schema_versions`` (a function the migrations create, which reads the
history tables of both Vigia's runner and ``supabase db push``) and compares the versions with
the files in ``supabase/migrations`` shipped in this image. PostgREST answers 404 ``PGRST202``
for a function it does not know (docs.postgrest.org, "Errors"): then no Vigia schema is there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from shared.store.migrate import MIGRATIONS_DIR, discover

FUNCTION = "vigia_schema_versions"
# The migration that creates FUNCTION: a database with Vigia's tables but without it is older.
FUNCTION_VERSION = "20261201000300"


class SchemaCheckError(RuntimeError):
    """The check itself could not run (unreachable, key refused, unexpected answer)."""


@dataclass(frozen=True)
class SchemaStatus:
    missing: list[str]  # file names of migrations the database lacks, in order
    applied: list[str]  # versions the database reports
    present: bool  # False when the database has no Vigia schema at all

    @property
    def current(self) -> bool:
        return self.present and not self.missing


def how_to_apply(supabase_url: str) -> str:
    """The one sentence that says how to apply the schema to this Supabase project."""
    host = urlsplit(supabase_url).hostname or ""
    ref = host.split(".")[0] if host.endswith(".supabase.co") else "<project-ref>"
    return (f"apply it from a checkout with `supabase link --project-ref {ref}` then `supabase db push`, "
            "or paste the output of `vigia migrate --print-sql` into the Supabase SQL editor "
            "(Dashboard > SQL Editor) and run it; then deploy again")


def check_schema(supabase_url: str, service_role_key: str, *, directory: Path = MIGRATIONS_DIR,
                 timeout: float = 30.0) -> SchemaStatus:
    """What the database lacks; raises :class:`SchemaCheckError` when it cannot tell."""
    url = f"{supabase_url.rstrip('/')}/rest/v1/rpc/{FUNCTION}"
    headers = {"apikey": service_role_key, "Authorization": f"Bearer {service_role_key}",
               "Content-Type": "application/json", "Accept": "application/json"}
    deadline = time.monotonic() + timeout
    while True:  # a project that was just resumed or created answers a little later
        try:
            response = httpx.post(url, headers=headers, json={}, timeout=min(10.0, timeout))
            break
        except httpx.TransportError as error:
            if time.monotonic() > deadline:
                raise SchemaCheckError(f"cannot reach {supabase_url}: {error!r}") from error
            time.sleep(1)
    local = discover(directory)
    if response.status_code == 404 and _code(response) == "PGRST202":
        if _has_tables(supabase_url, headers):
            older = [m.path.name for m in local if m.version >= FUNCTION_VERSION]
            return SchemaStatus(missing=older, applied=[], present=True)
        return SchemaStatus(missing=[m.path.name for m in local], applied=[], present=False)
    if response.status_code in (401, 403):
        raise SchemaCheckError(f"{supabase_url} refused SUPABASE_SERVICE_ROLE_KEY (HTTP {response.status_code}); "
                               "copy the service_role key from Project Settings > API Keys")
    if response.status_code != 200:
        raise SchemaCheckError(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        applied = response.json()
    except ValueError as error:
        raise SchemaCheckError(f"{url} answered 200 without JSON: {response.text[:200]}") from error
    if not isinstance(applied, list) or not all(isinstance(v, str) for v in applied):
        raise SchemaCheckError(f"{url} answered {str(applied)[:200]}, not a list of versions")
    have = set(applied)
    return SchemaStatus(missing=[m.path.name for m in local if m.version not in have], applied=applied, present=True)


def _has_tables(supabase_url: str, headers: dict[str, str]) -> bool:
    """Whether Vigia's first table is there (PostgREST answers 404 PGRST205 for an unknown table)."""
    try:
        response = httpx.get(f"{supabase_url.rstrip('/')}/rest/v1/monitor_runs", params={"select": "id", "limit": "0"},
                             headers=headers, timeout=10.0)
    except httpx.TransportError:
        return False
    return response.status_code == 200


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None
