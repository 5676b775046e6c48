"""Apply ``supabase/migrations/*.sql`` to a PostgreSQL database, in file-name order, once each.

The same files are what ``supabase db push`` applies; Vigia's own runner records what it applied
in ``vigia_schema_migrations`` (version, checksum) and takes an advisory lock so two release
commands racing during a deploy apply each file once. Each file runs in its own transaction: a
failing file leaves the database as it was before that file, and the error names the file.
Run it with ``vigia migrate`` (the Procfile's ``release``).

:func:`sql_script` is the same work as one SQL text for a database Vigia cannot connect to (a
Supabase-only setup pastes it into the SQL editor): each file runs only if its version is not yet
recorded, and is recorded as this runner records it, so pasting the script twice is harmless and
the runner, the script and ``supabase db push`` agree on what is applied.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("vigia.migrate")

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
_LOCK_ID = 0x76696769  # "vigi": one advisory lock id for every Vigia migration run


class MigrationError(RuntimeError):
    """A migration file could not be applied; the message names the file and the database error."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        migrations.append(Migration(version=version, name=name or path.stem, path=path, sql=path.read_text()))
    return migrations


_HISTORY_TABLE = """CREATE TABLE IF NOT EXISTS vigia_schema_migrations (
                       version text PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_script(directory: Path = MIGRATIONS_DIR) -> str:
    """Every migration as one idempotent SQL script, each file guarded by its recorded version."""
    migrations = discover(directory)
    parts = [
        "-- Vigia's database schema: every file of supabase/migrations, in order, each applied once.",
        "-- Paste it into the Supabase SQL editor (Dashboard > SQL Editor) and run it; running it again",
        "-- applies only what is missing. Printed by `vigia migrate --print-sql`.",
        "",
        " ".join(_HISTORY_TABLE.split()) + ";",
    ]
    for migration in migrations:
        body_tag = f"$vigia_sql_{migration.version}$"
        block_tag = f"$vigia_{migration.version}$"
        if body_tag in migration.sql or block_tag in migration.sql:
            raise MigrationError(f"{migration.path.name} contains {body_tag}; it cannot be quoted into the script")
        parts += [
            "",
            f"-- {migration.path.name}",
            f"DO {block_tag}",
            "BEGIN",
            f"    IF NOT EXISTS (SELECT 1 FROM vigia_schema_migrations WHERE version = {_literal(migration.version)}) THEN",
            f"        EXECUTE {body_tag}",
            migration.sql.rstrip(),
            f"{body_tag};",
            "        INSERT INTO vigia_schema_migrations (version, name, checksum) VALUES ("
            f"{_literal(migration.version)}, {_literal(migration.name)}, {_literal(migration.checksum)});",
            "    END IF;",
            "END;",
            f"{block_tag};",
        ]
    return "\n".join(parts) + "\n"


def migrate(database_url: str, *, directory: Path = MIGRATIONS_DIR, connect_timeout: int = 30) -> list[str]:
    """Apply pending migrations; return the versions applied (empty when up to date)."""
    import psycopg

    deadline = time.monotonic() + connect_timeout
    while True:  # a release step may start before a freshly provisioned database accepts connections
        try:
            conn = psycopg.connect(database_url, autocommit=True, connect_timeout=10, application_name="vigia-migrate")
            break
        except psycopg.OperationalError as error:
            if time.monotonic() > deadline:
                raise MigrationError(f"migrate: cannot connect to the database: {error}".strip()) from error
            log.warning("database not reachable yet, retrying", extra={"error": str(error).strip()})
            time.sleep(1)

    applied_now: list[str] = []
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(_HISTORY_TABLE)
            done = {row[0]: row[1] for row in conn.execute("SELECT version, checksum FROM vigia_schema_migrations")}
            for migration in discover(directory):
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        log.warning(
                            "migration file changed after it was applied; add a new file instead",
                            extra={"migration": migration.path.name},
                        )
                    continue
                started = time.perf_counter()
                try:
                    with conn.transaction():
                        conn.execute(migration.sql)
                        conn.execute(
                            "INSERT INTO vigia_schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                            (migration.version, migration.name, migration.checksum),
                        )
                except psycopg.Error as error:
                    raise MigrationError(f"migrate: {migration.path.name} failed: {error}".strip()) from error
                applied_now.append(migration.version)
                log.info(
                    "migration applied",
                    extra={"migration": migration.path.name, "ms": round((time.perf_counter() - started) * 1000)},
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    if not applied_now:
        log.info("database schema up to date")
    return applied_now
