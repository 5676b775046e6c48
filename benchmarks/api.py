"""The API at a million investigations, against a bare FastAPI app under the same gunicorn.

1. Starts an embedded Redis and PostgreSQL (or uses REDIS_URL / DATABASE_URL), migrates, and
   COPYs N investigations (default 1 000 000), a contract and a finding each, then VACUUM ANALYZEs.
2. Starts the Procfile's ``web`` line (gunicorn + uvicorn workers, WEB_CONCURRENCY of them) and,
   under the same gunicorn settings, ``benchmarks/bare_app.py`` serving the bytes of a real first
   page. wrk (Debian package ``wrk``, with a Lua script walking a list of paths; an httpx client
   otherwise) loads each for D seconds with C connections, in one run, bare app first and last
   (the machine may be shared, so the ratio uses the mean of the two): the list's first page;
   200 cursors down to 10 000 pages deep; 50 órgãos; 6 indicators over 40 pages; 40 pages sorted
   by risk; 500 investigations; ``/stats``; ``/orgaos``. Clients ask for many URLs, so each
   target but the first page walks many, and the response micro-cache is off
   (``API_LIST_CACHE_SECONDS=0``) unless ``--page-cache`` keeps the deployed 1 s.
   Each line is measured after a warm-up of W seconds (``--warmup``, default 3) on the same URLs,
   as load tests do: with the page cache on, the first request for each URL in each worker goes
   to the database, and those misses (about 500 in the first second for 240 URLs and 2 workers)
   would otherwise set the p99 of a 10 s line. The warm-up's own p99 is printed too.
3. Prints requests/s, p50 and p99 per endpoint, the warm-up's p99, how many gunicorn workers
   were recycled (``max_requests``) during its line, and ``ratio list/bare: X.XX`` (requests/s).
   ``--only stats,orgaos`` loads only the named targets (the bare app's two lines always run).
   ``--writes N`` commits N small writes a second to the investigations while each line runs (a
   sweep writing as it goes), so the page cache, which keeps a page until a change is notified,
   is measured as it is during a sweep rather than between sweeps.
   Optionally (``--on-demand``) also POSTs an on-demand investigation to the Procfile's worker
   and times it to completed.

Everything runs on this machine, so the load generator shares the cores with gunicorn and
PostgreSQL; on two cores the figures are a floor, not a capacity.

    .venv/bin/python benchmarks/api.py [--investigations 1000000] [--connections 32] [--seconds 10] [--warmup 3]
                                       [--client auto|wrk|httpx] [--page-cache] [--writes N] [--on-demand]
                                       [--only first,cursors,orgao,indicator,risk,detail,stats,orgaos]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._servers import local_servers  # noqa: E402
from services.dev.embedded import free_port  # noqa: E402
from services.dev.procfile import expand, read_procfile  # noqa: E402
from tests.support.processes import ManagedProcess, venv_bin, wait_for  # noqa: E402

API_KEY = "benchmark-key-0123456789"  # pragma: allowlist secret
LIST_PATH = "/api/v1/investigations"
# The targets --only can name, in the order they run (the bare app's lines always run).
TARGETS = ("first", "cursors", "orgao", "indicator", "risk", "detail", "stats", "orgaos")
# gunicorn's line for each worker it starts: one per worker at start, then one per recycle.
BOOTING = "Booting worker with pid"


# -- data -------------------------------------------------------------------------------------
ORGAOS = [f"{26000 + i}" for i in range(50)]
INDICATORS = ["price_outlier", "late_publication", "direct_award_high_value", "split_below_dispensa",
              "sanctioned_supplier", "amendment_over_limit"]
SEVERITIES = ["low", "medium", "high", "critical"]


def seed(database_url: str, count: int) -> float:
    """COPY ``count`` investigations (9 in 10 completed, with one finding; the rest pending), one
    contract each; seconds taken, VACUUM ANALYZE included."""
    import uuid
    from datetime import UTC, datetime, timedelta

    import psycopg

    started = time.perf_counter()
    epoch = datetime(2023, 1, 1, tzinfo=UTC)
    span = 3 * 365 * 24 * 3600
    with psycopg.connect(database_url, autocommit=True) as conn:
        # The embedded server runs with synchronous_commit=off; VACUUM marks a page all-visible
        # only once its rows' commit is on disk, so commit the seed synchronously.
        conn.execute("SET synchronous_commit = on")
        with conn.cursor() as cur, cur.copy(
            "COPY contracts (id, source, numero, objeto, orgao_codigo, orgao_nome, fornecedor_documento, "
            "fornecedor_nome, modalidade_compra, valor_inicial, content_hash) FROM STDIN"
        ) as copy:
            for i in range(count):
                orgao = ORGAOS[i % len(ORGAOS)]
                copy.write_row((1_000_000 + i, "simulator", f"{i:07d}/2024", "Aquisição de material", orgao,
                                f"Órgão {orgao}", f"{10_000_000_000_000 + i % 5000:014d}", "Fornecedora Ltda",
                                "Dispensa de Licitação", 1000 + i % 90_000, f"h{i}"))
        findings: list[tuple[Any, ...]] = []
        with conn.cursor() as cur, cur.copy(
            "COPY investigations (id, contract_id, orgao_codigo, trigger, status, detector_version, progress, "
            "risk_score, findings_count, finding_indicators, max_severity, max_severity_rank, summary, "
            "summary_source, created_at, started_at, finished_at) FROM STDIN"
        ) as copy:
            for i in range(count):
                contract_id, orgao = 1_000_000 + i, ORGAOS[i % len(ORGAOS)]
                created = epoch + timedelta(seconds=(i * span) // count)
                ident = uuid.uuid4()
                if i % 10 == 0:
                    copy.write_row((ident, contract_id, orgao, "scheduled", "pending", "benchmark", 0, None, 0, [],
                                    None, None, None, None, created, None, None))
                    continue
                indicator, rank = INDICATORS[i % len(INDICATORS)], i % 4
                copy.write_row((ident, contract_id, orgao, "scheduled", "completed", "benchmark", 1,
                                (i % 1000) / 1000, 1, [indicator], SEVERITIES[rank], rank, "Resumo.", "template",
                                created, created, created + timedelta(seconds=3)))
                findings.append((ident, indicator, SEVERITIES[rank], 0.6, "contract", str(contract_id), contract_id,
                                 orgao, 2.0, 1.0, "Sinal de teste.", "benchmark"))
        with conn.cursor() as cur, cur.copy(
            "COPY findings (investigation_id, indicator, severity, score, subject_type, subject_id, contract_id, "
            "orgao_codigo, value, threshold, explanation, detector_version) FROM STDIN"
        ) as copy:
            for row in findings:
                copy.write_row(row)
        # VACUUM too: as autovacuum leaves tables at rest, with the visibility map that lets
        # index-only scans skip the table.
        for table in ("contracts", "investigations", "findings"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def deep_cursors(database_url: str, pages: list[int], page_size: int) -> list[str]:
    """The cursors the API issues after each of ``pages`` pages of the default listing, built from
    the rows there with the API's own encoder (walking the pages first would only slow the run)."""
    from datetime import UTC, datetime

    import psycopg

    from services.api.pagination import Cursor, encode_cursor, fingerprint
    from shared.store.base import Keyset

    ends = sorted({n * page_size for n in pages})
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id::text, created_at FROM (SELECT id, created_at, row_number() OVER "
            "(ORDER BY created_at DESC, id DESC) AS n FROM investigations ORDER BY created_at DESC, id DESC "
            "LIMIT %s) AS walk WHERE n = ANY(%s)",
            (ends[-1], ends),
        ).fetchall()
    assert len(rows) == len(ends), "fewer investigations than the deepest page needs"
    filters = {name: None for name in ("orgao_codigo", "indicator", "severity", "status", "trigger", "contract_id",
                                       "created_from", "created_to", "min_risk_score")}
    issued_for = fingerprint({**filters, "sort": "-created_at", "page_size": page_size})
    now = datetime.now(UTC)
    return [encode_cursor(Cursor(Keyset(created, ident), "-created_at", issued_for, now)) for ident, created in rows]


def some_ids(database_url: str, count: int) -> list[str]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return [row[0] for row in conn.execute(
            "SELECT id::text FROM investigations TABLESAMPLE SYSTEM (10) LIMIT %s", (count,)).fetchall()]


# -- load -------------------------------------------------------------------------------------
def load_with_httpx(base: str, paths: list[str], connections: int, seconds: float) -> dict[str, float]:
    async def main() -> tuple[list[float], int]:
        latencies: list[float] = []
        failures = 0
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def worker(first: int) -> None:
                nonlocal failures
                turn = first
                while time.perf_counter() < deadline:
                    url = base + paths[turn % len(paths)]
                    turn += 1
                    started = time.perf_counter()
                    try:
                        response = await client.get(url)
                    except httpx.TransportError:  # e.g. a worker recycled after max_requests
                        failures += 1
                        continue
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        failures += 1

            await asyncio.gather(*(worker(n) for n in range(connections)))
        return latencies, failures

    started = time.perf_counter()
    latencies, failures = asyncio.run(main())
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "rps": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "non_200": failures,  # includes connection errors
    }


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, flags=re.MULTILINE)
    if match is None:
        return float("nan")
    value, unit = float(match[1]), match[2]
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


# Each wrk thread walks the paths in turn, one per request.
_WRK_PATHS = """paths = {%s}
turn = 0
request = function()
  turn = turn %% #paths + 1
  return wrk.format("GET", paths[turn])
end
"""


def load_with_wrk(base: str, paths: list[str], connections: int, seconds: float) -> dict[str, float]:
    threads = max(1, min(2, os.cpu_count() or 1))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_PATHS % ", ".join(json.dumps(path) for path in paths))
    try:
        result = subprocess.run(
            # wrk takes whole seconds: a shorter line (a short warm-up) runs one.
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency", "-s", script.name,
             base + paths[0]],
            capture_output=True, text=True, check=True,
        )
    finally:
        os.unlink(script.name)
    text = result.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return {
        "requests": float(total[1]) if total else float("nan"),
        "rps": float(rps[1]) if rps else float("nan"),
        "p50_ms": _wrk_ms(text, "50%"),
        "p99_ms": _wrk_ms(text, "99%"),
        "non_200": float(non_2xx[1]) if non_2xx else 0.0,
    }


# -- writes during the load ------------------------------------------------------------------
class Writer:
    """Commits ``per_second`` one-row updates a second to the investigations until stopped, each
    to the next of 100 taken at random (of every órgão, indicator and status, as a sweep's are):
    each is a change PostgreSQL notifies, naming that investigation, its órgão and indicators."""

    def __init__(self, database_url: str, per_second: float) -> None:
        import threading

        self.database_url, self.per_second = database_url, per_second
        self.commits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        if self.per_second > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            ids = [row[0] for row in conn.execute(
                "SELECT id FROM investigations TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 100").fetchall()]
            assert ids
            while not self._stop.wait(1 / self.per_second):
                conn.execute("UPDATE investigations SET progress = progress WHERE id = %s",
                             (ids[self.commits % len(ids)],))
                self.commits += 1


# -- on demand --------------------------------------------------------------------------------
def on_demand(env: dict[str, str], base_url: str, tmp: Path) -> str:
    """Seconds from POST to a terminal state for one simulator contract, or why it could not run."""
    from services.celery_app import TASK_MODULES

    if not any(module.endswith("analysis") for module in TASK_MODULES):
        return ("pending: vigia.analysis.investigate is not registered (services.worker.tasks.analysis is not in "
                "TASK_MODULES); rerun this script once it is")
    sim_port = free_port()
    sim_env = {**env, "ENVIRONMENT": "development"}  # the simulator refuses production
    simulator = ManagedProcess(
        "simulator", [sys.executable, "-m", "services.cli", "simulator", "serve", "--port", str(sim_port), "--scale", "0.2"],
        sim_env,
    )
    sim_url = f"http://127.0.0.1:{sim_port}"
    worker_env = {**env, "TRANSPARENCY_API_URL": f"{sim_url}/api-de-dados", "WORKER_CONCURRENCY": "2"}
    worker_argv = expand(read_procfile()["worker"], worker_env)
    worker_argv[0] = venv_bin(worker_argv[0])
    with simulator, ManagedProcess("worker", worker_argv, worker_env) as worker:
        wait_for(lambda: httpx.get(f"{sim_url}/__sim__/health", timeout=2).status_code == 200, timeout=120,
                 what="the simulator")
        worker.wait_for_line("worker ready", timeout=120)
        truth = httpx.get(f"{sim_url}/__sim__/ground-truth", timeout=30).json()
        planted = sorted({cid for ids in truth["contracts"].values() for cid in ids})
        contract_id = planted[0]
        headers = {"X-API-Key": API_KEY}
        started = time.perf_counter()
        accepted = httpx.post(f"{base_url}{LIST_PATH}", json={"contract_id": contract_id}, headers=headers, timeout=30)
        accepted.raise_for_status()
        poll_url = base_url + accepted.json()["poll_url"]

        def terminal() -> dict[str, Any] | None:
            body = httpx.get(poll_url, timeout=10).json()
            return body if body["status"] in ("completed", "failed", "cancelled") else None

        body = wait_for(terminal, timeout=300, interval=0.05, what="the on-demand investigation to finish")
        elapsed = time.perf_counter() - started
        return (f"{elapsed:.2f} s to {body['status']} (contract {contract_id}, {len(body['findings'])} findings, "
                f"risk {body['risk_score']}, summary by {body['summary_source']})"
                + (f"; error: {body['error']}" if body.get("error") else ""))


# -- main -------------------------------------------------------------------------------------
def _gunicorn(app: str, env: dict[str, str]) -> list[str]:
    argv = expand(read_procfile()["web"], env)
    argv[0] = venv_bin(argv[0])
    return [app if part == "services.api.main:app" else part for part in argv]


def _targets(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = sorted(set(names) - set(TARGETS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown target(s) {', '.join(unknown) or '(none)'}; "
                                         f"choose from {','.join(TARGETS)}")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--investigations", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of the same load before each measured line, its p99 printed apart (0: none)")
    parser.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--on-demand", action="store_true", help="also time one on-demand investigation")
    parser.add_argument("--page-cache", action="store_true",
                        help="keep the deployed API_LIST_CACHE_SECONDS (1 s) instead of 0; the list and detail "
                        "targets then walk many distinct URLs, so only the first page is a cache hit")
    parser.add_argument("--writes", type=float, default=0.0, metavar="N",
                        help="commit N writes a second to the investigations during each line (default 0)")
    parser.add_argument("--only", type=_targets, default=TARGETS, metavar="NAMES",
                        help=f"comma-separated targets to load, from {','.join(TARGETS)} (default: all)")
    args = parser.parse_args()
    client = ("wrk" if shutil.which("wrk") else "httpx") if args.client == "auto" else args.client
    load = load_with_wrk if client == "wrk" else load_with_httpx

    with local_servers("vigia-bench-api-") as (tmp, redis_url, database_url):
        seconds = seed(database_url, args.investigations)
        print(f"stored {args.investigations} investigations (COPY, with contracts and findings) in {seconds:.1f} s")

        port, bare_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            ENVIRONMENT="production", VIGIA_ENV_FILE="", REDIS_URL=redis_url, DATABASE_URL=database_url,
            PORT=str(port), API_KEYS=API_KEY, LOG_LEVEL="INFO", LOG_FORMAT="json", PYTHONUNBUFFERED="1",
            TRANSPARENCY_API_KEY="benchmark-portal-key-0123456789",  # pragma: allowlist secret
            # The limiter runs (its Redis round trip is part of the cost), with room for the load.
            API_RATE_LIMIT_READS="100000000/minute",
            API_LIST_CACHE_SECONDS=os.environ.get("API_LIST_CACHE_SECONDS", "1") if args.page_cache else "0",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        base_url, bare_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
        with ManagedProcess("web", _gunicorn("services.api.main:app", env), env) as web:
            wait_for(lambda: httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200, timeout=60,
                     what="gunicorn to be ready")
            first = httpx.get(f"{base_url}{LIST_PATH}", timeout=30)
            first.raise_for_status()
            page_file = tmp / "page.json"
            page_file.write_bytes(first.content)
            page_size = first.json()["page_size"]
            depth = min(10_000, args.investigations // page_size // 2)
            # What clients ask for: many cursors, órgãos, pages and ids, not one URL repeated (which a
            # response cache would answer from memory).
            cursors = (deep_cursors(database_url, [max(1, depth * k // 200) for k in range(1, 201)], page_size)
                       if "cursors" in args.only else [])
            ids = some_ids(database_url, 500) if "detail" in args.only else []
            bare_env = {**env, "PORT": str(bare_port), "VIGIA_BENCH_BARE_PAGE": str(page_file)}
            with ManagedProcess("bare", _gunicorn("benchmarks.bare_app:app", bare_env), bare_env):
                wait_for(lambda: httpx.get(f"{bare_url}/page", timeout=2).status_code == 200, timeout=60,
                         what="the bare app")
                print(f"API_LIST_CACHE_SECONDS={env['API_LIST_CACHE_SECONDS']}, "
                      f"API_SUMMARY_TTL_SECONDS={env.get('API_SUMMARY_TTL_SECONDS', '15 (default)')}, "
                      f"{args.writes:g} writes/s committed during each API line")
                print(f"page of {len(first.content)} bytes; gunicorn workers={env.get('WEB_CONCURRENCY', '2 (default)')}, "
                      f"{args.connections} connections, {args.seconds:g} s each, {client}, {os.cpu_count()} cores "
                      "shared with the load generator (and with whatever else runs on this machine)")
                pages = range(1, 41)
                targets: list[tuple[str, str, str, list[str]]] = [
                    ("bare", "bare app (first)", bare_url, ["/page"]),
                    ("first", "list: first page", base_url, [LIST_PATH]),
                    ("cursors", f"list: {len(cursors)} cursors, pages 1-{depth} deep", base_url,
                     [f"{LIST_PATH}?cursor={c}" for c in cursors]),
                    ("orgao", f"list: by órgão ({len(ORGAOS)})", base_url, [f"{LIST_PATH}?orgao={o}" for o in ORGAOS]),
                    ("indicator", f"list: by indicator ({len(INDICATORS)}, pages 1-{len(pages)})", base_url,
                     [f"{LIST_PATH}?indicator={i}&page={p}" for p in pages for i in INDICATORS]),
                    ("risk", f"list: sorted by risk (pages 1-{len(pages)})", base_url,
                     [f"{LIST_PATH}?sort=-risk_score&page={p}" for p in pages]),
                    ("detail", f"detail ({len(ids)} ids)", base_url, [f"{LIST_PATH}/{i}" for i in ids]),
                    ("stats", "stats", base_url, ["/api/v1/stats"]),
                    ("orgaos", "orgaos", base_url, ["/api/v1/orgaos"]),
                    ("bare", "bare app (last)", bare_url, ["/page"]),
                ]
                results: dict[str, dict[str, float]] = {}
                print("| endpoint | requests/s | p50 ms | p99 ms | not 200 | warm-up p99 ms | workers recycled |\n"
                      "|---|---|---|---|---|---|---|")
                for key, name, base, paths in targets:
                    if key != "bare" and key not in args.only:
                        continue
                    for path in (paths[0], paths[-1]):  # warm (the summaries' first load) and check
                        checked = httpx.get(base + path, timeout=60)
                        if checked.status_code != 200:
                            raise SystemExit(f"{name}: {path} answered {checked.status_code}: {checked.text[:300]}")
                    booted = web.output.count(BOOTING)
                    with Writer(database_url, args.writes if base == base_url else 0):
                        warm = (load(base, paths, args.connections, args.warmup) if args.warmup > 0
                                else {"p99_ms": float("nan")})
                        figures = results[name] = load(base, paths, args.connections, args.seconds)
                    recycled = web.output.count(BOOTING) - booted if base == base_url else 0
                    print(f"| {name} | {figures['rps']:.0f} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} | "
                          f"{figures['non_200']:.0f} | {warm['p99_ms']:.1f} | {recycled} |", flush=True)
            bare_rps = (results["bare app (first)"]["rps"] + results["bare app (last)"]["rps"]) / 2
            bare_p99 = (results["bare app (first)"]["p99_ms"] + results["bare app (last)"]["p99_ms"]) / 2
            if "list: first page" in results:
                print(f"ratio list/bare: {results['list: first page']['rps'] / bare_rps:.2f}")
            for name in [n for n in results if n.startswith(("list", "detail"))]:
                r = results[name]
                print(f"  {name}: {r['rps'] / bare_rps:.2f} of bare requests/s (target >= 0.5), "
                      f"p99 {r['p99_ms'] / bare_p99:.2f}x bare p99 (target <= 2)")
            for name in [n for n in ("stats", "orgaos") if n in results]:
                print(f"  {name}: p99 {results[name]['p99_ms']:.1f} ms (target <= 100 ms)")
            if args.on_demand:
                print(f"POST {LIST_PATH} -> completed: {on_demand(env, base_url, tmp)}")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
