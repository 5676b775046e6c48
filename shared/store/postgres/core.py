"""The PostgreSQL backend's connection pool and the one way every operation uses it.

One :class:`psycopg_pool.ConnectionPool` per process, created on first use (or by :meth:`open`),
never at import or in ``__init__``. A pool created before a ``fork`` is not used by the child: the
pool remembers its pid and the child builds its own. Every operation runs in
:meth:`PostgresCore._op`, one transaction on one pooled connection, which turns any driver error
into a :class:`~shared.store.base.StoreError` naming the operation and its input; a failure rolls
the whole transaction back, so a batch is written whole or not at all.

Settings that matter behind poolers (Supabase's Supavisor, PgBouncer in transaction mode): no
server-side prepared statements (``prepare_threshold=None``) and no temporary tables.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from shared.store.base import Store
from shared.store.commands import Condition, Json, Returns, Row
from shared.store.errors import describe, store_error
from shared.store.models import StoreError, StoreUnavailable

log = logging.getLogger("vigia.store.postgres")

_COMPARISONS = {"eq": "=", "gt": ">", "gte": ">=", "lte": "<="}

# A connection handed back to the pool less than this long ago is not pinged again when it is
# taken out. The ping (one round trip) finds connections that a server restart, a pooler or a
# firewall closed while they sat idle; one that breaks within this second fails its operation with
# a connection error (08006), as a break in the middle of an operation does, and is discarded.
RECENT_USE_SECONDS = 1.0


def sql_conditions(conditions: list[Condition]) -> tuple[list[str], dict[str, Any]]:
    """WHERE clauses and their named parameters (``c0``, ``c1``, ...) for the front's conditions."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for i, condition in enumerate(conditions):
        name = f"c{i}"
        if condition.op == "in":  # in filters name ids, bigint columns
            clauses.append(f"{condition.column} = ANY(%({name})s::bigint[])")
        elif condition.op == "has":
            clauses.append(f"{condition.column} @> ARRAY[%({name})s]::text[]")
        else:
            clauses.append(f"{condition.column} {_COMPARISONS[condition.op]} %({name})s")
        params[name] = condition.value
    return clauses, params


def where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


class PostgresCore(Store):
    """Pool lifecycle and the transaction wrapper; the operations live in the mixins."""

    def __init__(
        self,
        database_url: str,
        *,
        min_size: int = 1,
        max_size: int = 5,
        application_name: str = "vigia",
        statement_timeout_ms: int = 60_000,
        connect_timeout: int = 10,
        pool_timeout: float = 15.0,
    ) -> None:
        if not database_url:
            raise StoreError("PostgresStore needs a database URL (DATABASE_URL)")
        if database_url.startswith("postgres://"):
            database_url = "postgresql://" + database_url[len("postgres://") :]
        self._url = database_url
        self._min_size = min_size
        self._max_size = max(max_size, min_size, 1)
        self._application_name = application_name[:63]  # PostgreSQL truncates longer names
        self._statement_timeout_ms = int(statement_timeout_ms)
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._pool: ConnectionPool[Any] | None = None
        self._pool_pid: int | None = None
        self._lock = threading.Lock()
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = weakref.WeakKeyDictionary()

    # -- lifecycle ------------------------------------------------------------------------------
    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        # Set per connection rather than as a startup option: poolers refuse unknown startup options.
        conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(self._statement_timeout_ms),))
        conn.commit()

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned >= RECENT_USE_SECONDS:
            ConnectionPool.check_connection(conn)

    def _returning(self, conn: psycopg.Connection[Any]) -> None:
        self._returned[conn] = time.monotonic()

    def _get_pool(self) -> ConnectionPool[Any]:
        pid = os.getpid()
        pool = self._pool
        if pool is not None and self._pool_pid == pid:
            return pool
        with self._lock:
            if self._pool is None or self._pool_pid != pid:
                # After a fork the parent's pool (its sockets, its threads) belongs to the parent;
                # dropping the reference without closing leaves the parent's connections intact.
                self._pool = ConnectionPool(
                    self._url,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    open=False,
                    name=f"{self._application_name}-{pid}",
                    timeout=self._pool_timeout,
                    configure=self._configure,
                    check=self._check,
                    reset=self._returning,
                    kwargs={
                        "application_name": self._application_name,
                        "connect_timeout": self._connect_timeout,
                        "prepare_threshold": None,
                        "row_factory": dict_row,
                    },
                )
                self._pool.open(wait=False)
                self._pool_pid = pid
                log.debug("pool opened", extra={"application_name": self._application_name})
            return self._pool

    def open(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        """Open the pool now (e.g. in a worker's process init) and, with ``wait``, make sure the
        database answers; raises :class:`StoreUnavailable` otherwise."""
        pool = self._get_pool()
        if wait:
            try:
                pool.wait(timeout=timeout)
            except PoolTimeout as error:
                raise StoreUnavailable(describe("open", "", f"no connection within {timeout:.0f} s: {error}")) from error

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            owned = self._pool_pid == os.getpid()
            self._pool_pid = None
        if pool is not None and owned:
            pool.close()

    def ping(self) -> None:
        with self._op("ping") as conn:
            conn.execute("SELECT 1").fetchone()

    # -- the transaction wrapper ----------------------------------------------------------------------
    @contextmanager
    def _op(self, operation: str, detail: str = "", *, single: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """One transaction for one store operation: commit on success, roll back on any error.
        ``single`` is for an operation of one statement, which is a transaction by itself: it runs
        in autocommit, without the BEGIN and COMMIT round trips."""
        try:
            with self._get_pool().connection() as conn:
                if single:
                    conn.autocommit = True
                    try:
                        yield conn
                    finally:
                        with suppress(psycopg.Error):
                            conn.autocommit = False  # the pool's other users expect transactions
                else:
                    with conn.transaction():
                        yield conn
        except StoreError:
            raise
        except PoolTimeout as error:
            raise StoreUnavailable(
                describe(operation, detail, f"no database connection available: {error}")
            ) from error
        except psycopg.Error as error:
            sqlstate = getattr(error, "sqlstate", None)
            if sqlstate is None and isinstance(error, psycopg.OperationalError):
                sqlstate = "08006"  # the connection broke without the server saying why
            raise store_error(operation, detail, str(error), sqlstate) from error

    def _one(self, operation: str, detail: str, query: str, params: Any = None) -> Row | None:
        with self._op(operation, detail, single=True) as conn:
            row: Row | None = conn.execute(query, params).fetchone()
            return row

    def _function(self, operation: str, detail: str, name: str, args: dict[str, Any], *,
                  returns: Returns = "value") -> Any:
        named = ", ".join(f"{arg} => %({arg})s" for arg in args)
        params = {arg: Jsonb(value.value) if isinstance(value, Json) else value for arg, value in args.items()}
        if returns == "row":
            return self._one(operation, detail, f"SELECT * FROM {name}({named})", params)
        row = self._one(operation, detail, f"SELECT {name}({named}) AS r", params)
        assert row is not None
        return row["r"]

    def _all(self, operation: str, detail: str, query: str, params: Any = None) -> list[Row]:
        with self._op(operation, detail, single=True) as conn:
            return list(conn.execute(query, params).fetchall())
