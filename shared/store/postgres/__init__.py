"""The PostgreSQL backend: psycopg 3 and a connection pool per process (``DATABASE_URL``).

:class:`PostgresStore` is the :class:`~shared.store.base.Store` for a direct connection (Supabase's
connection string, Render or Railway PostgreSQL, the embedded server). The front checks each call;
the requests it needs are SQL, by concern in the mixins beside this file; :mod:`.core` holds the
pool, the transaction wrapper and the SQL form of the front's conditions and function calls.
"""

from __future__ import annotations

from shared.store.postgres.contracts import ContractsMixin
from shared.store.postgres.investigations import InvestigationsMixin
from shared.store.postgres.runs import RunsMixin


class PostgresStore(ContractsMixin, InvestigationsMixin, RunsMixin):
    """``PostgresStore(database_url, *, min_size=1, max_size=5, application_name="vigia")``.

    Nothing connects until the first operation (or :meth:`open`); safe to share between the
    threads of one process, and a forked child builds its own pool.
    """


__all__ = ["PostgresStore"]
