"""Throughput of a monitoring cycle, from simulator page to stored investigation, and worker/beat memory.

Starts an embedded Redis and PostgreSQL (or uses REDIS_URL / DATABASE_URL; each measurement gets
a database of its own), the Portal simulator as its own process (``vigia simulator serve``, no
rate limit), then measures:

1. in-process: one thread runs the whole cycle (page, parse, detect, write investigations) with
   its upserts on the sweep's writer thread — the pipeline's own cost, without Celery; ``--repeat``
   runs, each on a fresh database, and their median;
2. real processes: the Procfile's worker (``--concurrency``) and beat; a monitoring cycle is queued
   and timed until its run closes. RSS/PSS of the worker's process tree and of beat are sampled
   during the cycle (peak) and after it (idle).

Summaries use the template (no GROQ_API_KEY): Groq's latency is not Vigia's throughput.

    .venv/bin/python benchmarks/pipeline.py [--scale 0.5] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._memory import Sampler, tree_memory_mb  # noqa: E402
from services.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402
from services.dev.procfile import expand, read_procfile  # noqa: E402
from shared.store.migrate import migrate  # noqa: E402
from tests.conftest import create_database, drop_database  # noqa: E402
from tests.support.processes import ManagedProcess, venv_bin, wait_for  # noqa: E402

MONITOR = "vigia.monitoring.monitor_new_contracts"
EVERYTHING_HOURS = 24 * 365 * 8


def settings_for(database_url: str, redis_url: str, portal_url: str) -> Any:
    from shared.config import Settings

    return Settings(_env_file=None, environment="development", database_url=database_url, redis_url=redis_url,
                    transparency_api_url=portal_url, portal_rate_day_per_min=10_000_000,
                    portal_rate_night_per_min=10_000_000, log_level="WARNING")


def in_process(database_url: str, redis_url: str, portal_url: str) -> tuple[int, int, float]:
    import redis

    from shared.domain import Trigger
    from shared.llm import SummaryWriter
    from shared.pipeline import monitoring
    from shared.pipeline.context import Budget, PipelineContext, Step
    from shared.portal.client import PortalClient
    from shared.store import get_store

    settings = settings_for(database_url, redis_url, portal_url)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    ctx = PipelineContext(settings=settings, store=get_store(settings), redis=client,
                          summaries=SummaryWriter.from_settings(settings),
                          portal_factory=lambda: PortalClient.from_settings(settings, client))
    started = time.perf_counter()
    plan = monitoring.start_cycle(ctx, task=MONITOR, task_id="bench-inprocess", trigger=Trigger.SCHEDULED,
                                  lookback_hours=EVERYTHING_HOURS, configured=[])
    for orgao in plan.orgaos:
        while monitoring.sweep(ctx, run_id=plan.run_id, orgao=orgao, window=plan.window, trigger=plan.trigger,
                               owner="bench", budget=Budget.unlimited()).status is Step.CONTINUE:
            pass
    elapsed = time.perf_counter() - started
    run = ctx.store.get_run(plan.run_id)
    assert run is not None
    ctx.close()
    ctx.store.close()
    return int(run.counters.get("contracts_seen", 0)), int(run.counters.get("investigations_created", 0)), elapsed


def with_processes(env: dict[str, str], database_url: str, concurrency: int) -> dict[str, Any]:
    import redis

    from services.celery_app import create_app
    from shared.domain import RunStatus
    from shared.store import get_store

    env = {**env, "DATABASE_URL": database_url, "WORKER_CONCURRENCY": str(concurrency)}
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    settings = settings_for(database_url, env["REDIS_URL"], env["TRANSPARENCY_API_URL"])
    store = get_store(settings)

    def start(name: str, *extra: str) -> ManagedProcess:
        argv = expand(read_procfile()[name], env) + list(extra)
        argv[0] = venv_bin(argv[0])
        return ManagedProcess(name, argv, env)

    worker, beat = start("worker"), start("beat")
    try:
        worker.wait_for_line("worker ready", timeout=120)
        beat.wait_for_line("Acquired lock", timeout=120)
        time.sleep(2)
        worker_idle, beat_idle = tree_memory_mb(worker.proc.pid), tree_memory_mb(beat.proc.pid)
        worker_peak, beat_peak = Sampler(worker.proc.pid), Sampler(beat.proc.pid)
        started = time.perf_counter()
        create_app(settings, process="cli").send_task(MONITOR, kwargs={"lookback_hours": EVERYTHING_HOURS})
        run = wait_for(lambda: next((r for r in store.last_runs(task=MONITOR, limit=1)
                                     if r.status is not RunStatus.RUNNING), None),
                       timeout=3600, interval=0.2, what="the monitoring run to close")
        elapsed = time.perf_counter() - started
        time.sleep(2)
        return {
            "status": str(run.status), "contracts": int(run.counters.get("contracts_seen", 0)),
            "investigations": int(run.counters.get("investigations_created", 0)), "seconds": elapsed,
            "worker_peak": worker_peak.stop(), "beat_peak": beat_peak.stop(),
            "worker_idle": worker_idle, "beat_idle": beat_idle,
            "worker_after": tree_memory_mb(worker.proc.pid),
        }
    finally:
        beat.stop()
        worker.stop()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.5, help="simulator data set size (1.0 = ~10 000 contracts)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    parser.add_argument("--repeat", type=int, default=3,
                        help="in-process runs, each on a fresh database (a shared machine's speed varies run to run)")
    parser.add_argument("--no-processes", action="store_true",
                        help="only the in-process runs: skip the worker and beat measurement")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vigia-bench-pipeline-"))
    redis_server = postgres = None
    redis_url, admin_url = os.environ.get("REDIS_URL"), os.environ.get("DATABASE_URL")
    if not redis_url:
        redis_server = EmbeddedRedis(workdir=tmp / "redis").start()
        redis_url = redis_server.url
    if not admin_url:
        postgres = EmbeddedPostgres(datadir=tmp / "pg").start()
        admin_url = postgres.admin_url()
    port = free_port()
    env = {**os.environ, "ENVIRONMENT": "development", "VIGIA_ENV_FILE": "", "REDIS_URL": redis_url,
           "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
           "TRANSPARENCY_API_URL": f"http://127.0.0.1:{port}/api-de-dados",
           "PORTAL_RATE_DAY_PER_MIN": "10000000", "PORTAL_RATE_NIGHT_PER_MIN": "10000000",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    simulator = ManagedProcess("simulator", [venv_bin("vigia"), "simulator", "serve", "--port", str(port),
                                             "--seed", str(args.seed), "--scale", str(args.scale)], env)
    databases: list[str] = []
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/__sim__/health", timeout=1).json()["ok"],
                 timeout=120, what="the simulator")
        served = httpx.get(f"http://127.0.0.1:{port}/__sim__/health", timeout=5).json()["contracts"]
        print(f"data set: seed {args.seed}, scale {args.scale}: {served} contracts served by the simulator "
              f"(no rate limit); {os.cpu_count()} CPUs")

        rates = []
        for attempt in range(1, args.repeat + 1):
            databases.append(create_database(admin_url, prefix="vigia_bench"))
            migrate(databases[-1])
            contracts, investigations, seconds = in_process(databases[-1], redis_url, env["TRANSPARENCY_API_URL"])
            rates.append(contracts / seconds)
            print(f"in-process run {attempt}/{args.repeat} (paging thread + upsert thread, no Celery): {contracts} "
                  f"contracts -> {investigations} investigations in {seconds:.1f} s = {contracts / seconds:.0f} "
                  f"contracts/s, {investigations / seconds:.1f} investigations/s", flush=True)
        print(f"in-process: median {statistics.median(rates):.0f} contracts/s, best {max(rates):.0f}, "
              f"worst {min(rates):.0f} over {len(rates)} runs")
        if args.no_processes:
            return

        databases.append(create_database(admin_url, prefix="vigia_bench"))
        migrate(databases[-1])
        r = with_processes(env, databases[-1], args.concurrency)
        print(f"worker (concurrency {args.concurrency}) + beat, queued cycle until its run closed ({r['status']}): "
              f"{r['contracts']} contracts -> {r['investigations']} investigations in {r['seconds']:.1f} s = "
              f"{r['contracts'] / r['seconds']:.0f} contracts/s, {r['investigations'] / r['seconds']:.1f} investigations/s")
        print(f"worker memory (main + {args.concurrency} children): idle RSS {r['worker_idle'][0]:.0f} MB "
              f"(PSS {r['worker_idle'][1]:.0f}), peak during the cycle RSS {r['worker_peak'][0]:.0f} MB "
              f"(PSS {r['worker_peak'][1]:.0f}), after RSS {r['worker_after'][0]:.0f} MB")
        print(f"beat memory: idle RSS {r['beat_idle'][0]:.0f} MB (PSS {r['beat_idle'][1]:.0f}), "
              f"peak RSS {r['beat_peak'][0]:.0f} MB")
    finally:
        simulator.stop()
        for url in databases:
            try:
                drop_database(admin_url, url)
            except Exception as error:  # keep the figures even if cleanup fails
                print(f"(could not drop {url.rsplit('/', 1)[-1]}: {error})")
        if postgres:
            postgres.stop()
        if redis_server:
            redis_server.stop()


if __name__ == "__main__":
    main()
