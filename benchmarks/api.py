"""API throughput and on-demand latency, with gunicorn started exactly as the Procfile starts it.

1. Starts an embedded Redis and PostgreSQL (or uses REDIS_URL / DATABASE_URL), migrates, and
   stores N investigations (default 10 000) with a finding each through the real store.
2. Starts the Procfile's ``web`` line (gunicorn + uvicorn workers, WEB_CONCURRENCY of them) and
   loads ``GET /api/v1/investigations`` with C concurrent connections (default 32) for D
   seconds: requests/s, p50 and p99 latency, non-200 count. The load comes from wrk when it is
   installed (Debian package ``wrk``) and from an httpx async client otherwise (or both).
3. Starts the Portal simulator and the Procfile's ``worker``, POSTs an on-demand investigation
   of one simulator contract, and polls it until it reaches a terminal state: seconds from the
   POST to ``completed``.

Everything runs on this machine, so the load generator shares the cores with gunicorn and
PostgreSQL; on two cores the figures are a floor, not a capacity.

    .venv/bin/python benchmarks/api.py [--investigations 10000] [--connections 32] [--seconds 15]
                                       [--client auto|wrk|httpx|both] [--skip-on-demand]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402
from services.dev.procfile import expand, read_procfile  # noqa: E402
from shared.domain import Contract, Finding, Severity, Source, Trigger  # noqa: E402
from shared.store.migrate import migrate  # noqa: E402
from tests.support.processes import ManagedProcess, venv_bin, wait_for  # noqa: E402

API_KEY = "benchmark-key-0123456789"  # pragma: allowlist secret
LIST_PATH = "/api/v1/investigations"


# -- data -------------------------------------------------------------------------------------
def seed(database_url: str, count: int) -> float:
    """Store ``count`` completed investigations (one contract and one finding each); seconds taken."""
    from shared.store import PostgresStore

    store = PostgresStore(database_url, min_size=4, max_size=4, application_name="vigia-benchmark")
    orgaos = [f"{26000 + i}" for i in range(20)]
    started = time.perf_counter()
    contracts = [
        Contract(
            id=1_000_000 + i, source=Source.SIMULATOR, numero=f"{i:05d}/2024", objeto="Aquisição de material",
            orgao_codigo=orgaos[i % len(orgaos)], orgao_nome=f"Órgão {orgaos[i % len(orgaos)]}",
            fornecedor_documento=f"{10_000_000_000_000 + i % 500:014d}", fornecedor_nome="Fornecedora Ltda",
        )
        for i in range(count)
    ]
    for start in range(0, count, 1000):
        store.upsert_contracts(contracts[start : start + 1000])

    def one(contract: Contract) -> None:
        investigation, _ = store.create_or_get_investigation(
            contract_id=contract.id, orgao_codigo=contract.orgao_codigo, trigger=Trigger.SCHEDULED,
            detector_version="benchmark",
        )
        finding = Finding(
            indicator="direct_award_high_value", severity=Severity.MEDIUM, score=0.6, subject_type="contract",
            subject_id=str(contract.id), explanation="Dispensa de alto valor.", contract_id=contract.id,
            orgao_codigo=contract.orgao_codigo, value=2.0, threshold=1.0,
        )
        store.complete_investigation(
            investigation.id, findings=[finding], risk_score=(contract.id % 100) / 100, summary="Resumo.",
            summary_source="template",
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, contracts))
    store.close()
    return time.perf_counter() - started


# -- load -------------------------------------------------------------------------------------
def load_with_httpx(url: str, connections: int, seconds: float) -> dict[str, float]:
    async def main() -> tuple[list[float], int]:
        latencies: list[float] = []
        failures = 0
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def worker() -> None:
                nonlocal failures
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    try:
                        response = await client.get(url)
                    except httpx.TransportError:  # e.g. a worker recycled after max_requests
                        failures += 1
                        continue
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        failures += 1

            await asyncio.gather(*(worker() for _ in range(connections)))
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


def load_with_wrk(url: str, connections: int, seconds: float) -> dict[str, float]:
    threads = max(1, min(2, os.cpu_count() or 1))
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency", url],
        capture_output=True, text=True, check=True,
    )
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


# -- on demand --------------------------------------------------------------------------------
def on_demand(env: dict[str, str], base_url: str, tmp: Path) -> str:
    """Seconds from POST to a terminal state for one simulator contract, or why it could not run."""
    from services.celery_app import TASK_MODULES

    if not any(module.endswith("analysis") for module in TASK_MODULES):
        return ("pending: vigia.analysis.investigate is not registered (services.worker.tasks.analysis is not in "
                "TASK_MODULES); rerun this script once it is")
    sim_port = free_port()
    sim_env = dict(env)
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
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--investigations", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--client", choices=("auto", "wrk", "httpx", "both"), default="auto")
    parser.add_argument("--skip-on-demand", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vigia-bench-api-"))
    redis_server = postgres = None
    try:
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis_server = EmbeddedRedis(workdir=tmp / "redis").start()
            redis_url = redis_server.url
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            postgres = EmbeddedPostgres(datadir=tmp / "postgres").start()
            database_url = postgres.url
        migrate(database_url)
        seconds = seed(database_url, args.investigations)
        print(f"stored {args.investigations} investigations in {seconds:.1f} s")

        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            ENVIRONMENT="development", VIGIA_ENV_FILE="", REDIS_URL=redis_url, DATABASE_URL=database_url,
            PORT=str(port), API_KEYS=API_KEY, LOG_LEVEL="INFO", LOG_FORMAT="json", PYTHONUNBUFFERED="1",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        argv = expand(read_procfile()["web"], env)
        argv[0] = venv_bin(argv[0])
        base_url = f"http://127.0.0.1:{port}"
        with ManagedProcess("web", argv, env):
            wait_for(lambda: httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200, timeout=60,
                     what="gunicorn to be ready")
            workers = env.get("WEB_CONCURRENCY", "2 (default)")
            url = f"{base_url}{LIST_PATH}"
            first = httpx.get(url, timeout=30).json()
            print(f"GET {LIST_PATH}: total={first['total']}, page_size={first['page_size']}, gunicorn workers={workers}, "
                  f"{args.connections} connections, {args.seconds:.0f} s, {os.cpu_count()} cores shared with the load")
            clients = {"auto": ["wrk" if shutil.which("wrk") else "httpx"], "both": ["wrk", "httpx"]}.get(
                args.client, [args.client])
            for client in clients:
                httpx.get(url, timeout=30)  # warm
                figures = (load_with_wrk if client == "wrk" else load_with_httpx)(url, args.connections, args.seconds)
                print(f"  [{client}] {figures['rps']:.0f} requests/s, p50 {figures['p50_ms']:.1f} ms, "
                      f"p99 {figures['p99_ms']:.1f} ms, {figures['requests']:.0f} requests, "
                      f"{figures['non_200']:.0f} not 200")
            if not args.skip_on_demand:
                print(f"POST {LIST_PATH} -> completed: {on_demand(env, base_url, tmp)}")
        return 0
    finally:
        for server in (postgres, redis_server):
            if server is not None:
                server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
