"""``vigia migrate``: apply the SQL migrations (the Procfile's ``release`` step)."""

from __future__ import annotations

import argparse
import logging

from services.bootstrap import bootstrap
from shared.store.migrate import MigrationError, migrate

log = logging.getLogger("vigia.migrate")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("migrate", help="apply supabase/migrations/*.sql to DATABASE_URL")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    settings = bootstrap("release")
    if settings.database_url is None:
        log.error(
            "migrate needs DATABASE_URL, a direct PostgreSQL connection "
            "(Supabase: Project Settings > Database > Connection string); "
            "a Supabase-only setup applies the same files with `supabase db push`"
        )
        return 2
    try:
        applied = migrate(settings.database_url.get_secret_value())
    except MigrationError as error:
        log.error(str(error))
        return 1
    log.info("migrate finished", extra={"applied": applied})
    return 0
