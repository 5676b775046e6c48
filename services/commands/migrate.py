"""``vigia migrate``: the Procfile's ``release`` step.

With ``DATABASE_URL`` it applies ``supabase/migrations/*.sql``. With only ``SUPABASE_URL`` and
``SUPABASE_SERVICE_ROLE_KEY`` (no direct connection) it checks over the REST API that the schema
is applied and current, and otherwise exits 1 with one message saying how to apply it.
``--print-sql`` prints every migration as one idempotent script for the Supabase SQL editor.
"""

from __future__ import annotations

import argparse
import logging
import sys

from services.bootstrap import bootstrap
from services.commands import Subparsers, add_command
from shared.store.migrate import MigrationError, migrate, sql_script

log = logging.getLogger("vigia.migrate")


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "migrate", handle,
                         help="apply supabase/migrations/*.sql to DATABASE_URL, or check a Supabase-only schema")
    parser.add_argument("--print-sql", action="store_true",
                        help="print every migration as one script to paste into the Supabase SQL editor, then exit")


def handle(args: argparse.Namespace) -> int:
    """Apply the migrations to DATABASE_URL; with only SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY,
    check that the schema is applied and current."""
    if args.print_sql:
        try:
            sys.stdout.write(sql_script())
        except MigrationError as error:
            sys.stderr.write(f"{error}\n")
            return 1
        return 0
    settings = bootstrap("release")
    if settings.database_url is None:
        assert settings.supabase_url is not None and settings.supabase_service_role_key is not None
        return check_supabase(settings.supabase_url, settings.supabase_service_role_key.get_secret_value())
    try:
        applied = migrate(settings.database_url.get_secret_value())
    except MigrationError as error:
        log.error(str(error))
        return 1
    log.info("migrate finished", extra={"applied": applied})
    return 0


def check_supabase(url: str, key: str) -> int:
    from shared.store.schema_check import SchemaCheckError, check_schema, how_to_apply

    try:
        status = check_schema(url, key)
    except SchemaCheckError as error:
        log.error(f"migrate: cannot check the Supabase schema: {error}")
        return 1
    if status.current:
        log.info("database schema up to date (checked over the Supabase REST API)",
                 extra={"versions": len(status.applied)})
        return 0
    if not status.present:
        what = "the Supabase database has no Vigia schema"
    else:
        what = f"the Supabase database lacks {len(status.missing)} migration(s): {', '.join(status.missing)}"
    log.error(f"migrate: {what}; without DATABASE_URL Vigia cannot apply it itself: {how_to_apply(url)}",
              extra={"missing": status.missing})
    return 1
