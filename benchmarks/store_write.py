"""Contracts upserted per second by the PostgreSQL store, in batches of 500, on a real PostgreSQL.

Three passes over the same contracts (simulated Portal records, ~1.7 kB of raw JSON each, parsed
as the Portal client parses them): the first inserts them all, the second finds nothing changed
(the steady state of a sweep that re-reads a window), the third finds every one amended (each
previous version is copied to ``contract_versions``). Each pass prints contracts per second and
the median and worst batch latency. Uses ``DATABASE_URL`` (a server; a database of our own is
created on it and dropped after) or starts an embedded PostgreSQL.

    .venv/bin/python benchmarks/store_write.py [--contracts 20000] [--batch 500]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.domain import Contract, Source, canonical_hash  # noqa: E402
from shared.portal.models import parse_contract  # noqa: E402
from shared.portal.simulator.dataset import big_orgao_contracts  # noqa: E402
from shared.store.migrate import migrate  # noqa: E402
from shared.store.postgres import PostgresStore  # noqa: E402


def contracts(n: int) -> list[Contract]:
    return [parse_contract(raw, source=Source.SIMULATOR) for raw in big_orgao_contracts("26000", n, seed=11)]


def amend(contract: Contract) -> Contract:
    raw = {**contract.raw, "valorFinalCompra": str(contract.raw.get("valorFinalCompra")) + "1"}
    return dataclasses.replace(contract, raw=raw, content_hash=canonical_hash(raw))


def timed_pass(store: PostgresStore, items: list[Contract], batch: int, expect: str) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        t0 = time.perf_counter()
        result = store.upsert_contracts(chunk)
        latencies.append(time.perf_counter() - t0)
        if len(getattr(result, expect)) != len(chunk):
            raise SystemExit(f"expected every contract {expect}, got {result}")
    return time.perf_counter() - started, latencies


def run(database_url: str, n: int, batch: int) -> None:
    items = contracts(n)
    store = PostgresStore(database_url, application_name="vigia-bench-store", min_size=1, max_size=2)
    store.open()
    try:
        print(f"{n} contracts, batches of {batch}, raw JSON {sum(len(str(c.raw)) for c in items) / n / 1024:.1f} kB each")
        for label, data, expect in (
            ("insert (all new)", items, "new"),
            ("re-run (nothing changed)", items, "unchanged"),
            ("amended (all changed)", [amend(c) for c in items], "changed"),
        ):
            elapsed, latencies = timed_pass(store, data, batch, expect)
            print(
                f"{label:<26} {n / elapsed:>9,.0f} contracts/s   "
                f"batch median {statistics.median(latencies) * 1000:6.1f} ms, max {max(latencies) * 1000:6.1f} ms"
            )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL")
    embedded = None
    tmp = Path(tempfile.mkdtemp(prefix="vigia-bench-store-"))
    if not server_url:
        from services.dev.embedded import EmbeddedPostgres

        embedded = EmbeddedPostgres(datadir=tmp / "pg", database="postgres").start()
        server_url = embedded.admin_url()
    import psycopg

    name = f"vigia_bench_{secrets.token_hex(4)}"
    parts = urlsplit(server_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate(url)
        run(url, args.contracts, args.batch)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
