"""``python -m shared.store migrate``: the release step, also available as ``vigia migrate``."""

from __future__ import annotations

import sys

from shared.config import require
from shared.logging import configure_logging
from shared.store.migrate import MigrationError, migrate


def main(argv: list[str]) -> int:
    if argv[:1] != ["migrate"]:
        sys.stderr.write("usage: python -m shared.store migrate\n")
        return 2
    settings = require("release")
    configure_logging("release")
    if settings.database_url is None:
        sys.stderr.write("migrate needs DATABASE_URL (a direct PostgreSQL connection)\n")
        return 2
    try:
        migrate(settings.database_url.get_secret_value())
    except MigrationError as error:
        import logging

        logging.getLogger("vigia.migrate").error(str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
