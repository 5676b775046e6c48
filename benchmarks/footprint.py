"""Memory of a whole deployment: every Procfile process, idle and at its peak during a monitoring cycle.

Starts an embedded Redis and PostgreSQL (or uses REDIS_URL / DATABASE_URL), the Portal simulator
as its own process, then the Procfile's ``web``, ``worker`` (at its default concurrency, unless
``--concurrency``), ``beat`` and ``flower``, exactly as a platform starts them. After they settle
it reads each process tree's memory (idle), queues one monitoring cycle over the whole simulated
data set, samples every tree every 0.25 s until the run closes (peak), and reads them again
after (idle after). Prints, per process and in total:

* RSS: resident pages, counting pages shared by a prefork worker's children once per process;
* PSS: the same pages split between the processes sharing them — what a container's memory
  limit (Render, Railway, Docker) actually charges for the tree.

Also prints what the worker tree is made of (main process and each pool child) and the memory
that importing the worker's modules costs, to say what dominates. The simulator, Redis and
PostgreSQL are not counted: they are the Portal and the managed services of a real deployment.

    .venv/bin/python benchmarks/footprint.py [--scale 1.0] [--concurrency N] [--sentry]

Targets: worker + beat <= 256 MB, all processes <= 512 MB (the smallest Render and Railway plans).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402
from services.dev.procfile import expand, read_procfile  # noqa: E402
from shared.store.migrate import migrate  # noqa: E402
from tests.conftest import create_database, drop_database  # noqa: E402
from tests.support.processes import ManagedProcess, venv_bin, wait_for  # noqa: E402

MONITOR = "vigia.monitoring.monitor_new_contracts"
EVERYTHING_HOURS = 24 * 365 * 8
PROCESSES = ("web", "worker", "beat", "flower")
BUDGET_WORKER_BEAT_MB = 256
BUDGET_ALL_MB = 512
MB = 2**20


def process_memory(proc: psutil.Process) -> tuple[float, float]:
    info = proc.memory_full_info()
    return info.rss / MB, getattr(info, "pss", info.rss) / MB


def tree_memory(pid: int) -> tuple[float, float, list[tuple[str, float, float]]]:
    """(RSS, PSS) of a process and all its children in MB, and each member's own figures."""
    root = psutil.Process(pid)
    members: list[tuple[str, float, float]] = []
    for proc in [root, *root.children(recursive=True)]:
        try:
            rss, pss = process_memory(proc)
            members.append((f"{proc.pid} {' '.join(proc.cmdline()[1:3])[:40]}", rss, pss))
        except psutil.Error:  # a pool child recycled between listing and reading
            continue
    return sum(m[1] for m in members), sum(m[2] for m in members), members


class PeakSampler:
    """Samples every process tree together; keeps each tree's peak and the peak of the total."""

    def __init__(self, pids: dict[str, int], interval: float = 0.25) -> None:
        self.pids, self.interval = pids, interval
        self.peak: dict[str, tuple[float, float]] = {name: (0.0, 0.0) for name in pids}
        self.peak_total = (0.0, 0.0)
        self.peak_worker_beat = (0.0, 0.0)
        self.worker_members: list[tuple[str, float, float]] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now: dict[str, tuple[float, float]] = {}
            for name, pid in self.pids.items():
                try:
                    rss, pss, members = tree_memory(pid)
                except psutil.Error:
                    continue
                now[name] = (rss, pss)
                old = self.peak[name]
                if name == "worker" and pss > old[1]:
                    self.worker_members = members
                self.peak[name] = (max(old[0], rss), max(old[1], pss))
            total = (sum(v[0] for v in now.values()), sum(v[1] for v in now.values()))
            self.peak_total = (max(self.peak_total[0], total[0]), max(self.peak_total[1], total[1]))
            pair = [now[n] for n in ("worker", "beat") if n in now]
            wb = (sum(v[0] for v in pair), sum(v[1] for v in pair))
            self.peak_worker_beat = (max(self.peak_worker_beat[0], wb[0]), max(self.peak_worker_beat[1], wb[1]))
            self.samples += 1
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def import_cost(module_code: str) -> float:
    """RSS in MB of a fresh interpreter after running ``module_code`` (an import statement)."""
    code = f"import psutil; {module_code}; print(psutil.Process().memory_info().rss)"
    env = {**os.environ, "ENVIRONMENT": "development", "VIGIA_ENV_FILE": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    return int(out.strip().splitlines()[-1]) / MB


def snapshot(procs: dict[str, ManagedProcess]) -> dict[str, tuple[float, float]]:
    return {name: tree_memory(proc.proc.pid)[:2] for name, proc in procs.items()}


def print_table(idle: dict[str, tuple[float, float]], sampler: PeakSampler,
                after: dict[str, tuple[float, float]]) -> None:
    print(f"{'process':<8} {'idle RSS':>9} {'idle PSS':>9} {'peak RSS':>9} {'peak PSS':>9} {'after PSS':>9}   (MB)")
    for name in PROCESSES:
        print(f"{name:<8} {idle[name][0]:>9.0f} {idle[name][1]:>9.0f} {sampler.peak[name][0]:>9.0f} "
              f"{sampler.peak[name][1]:>9.0f} {after[name][1]:>9.0f}")
    idle_wb = [sum(idle[n][i] for n in ("worker", "beat")) for i in (0, 1)]
    idle_all = [sum(idle[n][i] for n in PROCESSES) for i in (0, 1)]
    print(f"{'worker+beat':<11} idle RSS {idle_wb[0]:.0f} / PSS {idle_wb[1]:.0f}; peak (same instant) RSS "
          f"{sampler.peak_worker_beat[0]:.0f} / PSS {sampler.peak_worker_beat[1]:.0f}   budget {BUDGET_WORKER_BEAT_MB}")
    print(f"{'all four':<11} idle RSS {idle_all[0]:.0f} / PSS {idle_all[1]:.0f}; peak (same instant) RSS "
          f"{sampler.peak_total[0]:.0f} / PSS {sampler.peak_total[1]:.0f}   budget {BUDGET_ALL_MB}")
    wb_ok = sampler.peak_worker_beat[1] <= BUDGET_WORKER_BEAT_MB
    all_ok = sampler.peak_total[1] <= BUDGET_ALL_MB
    print(f"within budget (PSS at peak): worker+beat {'yes' if wb_ok else 'NO'}, all {'yes' if all_ok else 'NO'}")


def run(env: dict[str, str], admin_url: str, args: argparse.Namespace) -> None:
    from services.celery_app import create_app
    from shared.config import Settings
    from shared.domain import RunStatus
    from shared.store import get_store

    database_url = create_database(admin_url, prefix="vigia_footprint")
    migrate(database_url)
    env = {**env, "DATABASE_URL": database_url, "PORT": str(free_port())}
    if args.concurrency:
        env["WORKER_CONCURRENCY"] = str(args.concurrency)
    settings = Settings(_env_file=None, environment="development", database_url=database_url,
                        redis_url=env["REDIS_URL"])
    store = get_store(settings)
    procs: dict[str, ManagedProcess] = {}
    try:
        for name in PROCESSES:
            process_env = {**env, "PORT": str(free_port())} if name in ("web", "flower") else env
            argv = expand(read_procfile()[name], process_env)
            argv[0] = venv_bin(argv[0])
            procs[name] = ManagedProcess(name, argv, process_env)
            if name in ("web", "flower"):
                path = "/health" if name == "web" else "/healthcheck"
                url = f"http://127.0.0.1:{process_env['PORT']}{path}"
                wait_for(lambda url=url: httpx.get(url, timeout=1).status_code == 200, timeout=120, what=url)
        procs["worker"].wait_for_line("worker ready", timeout=120)
        procs["beat"].wait_for_line("Acquired lock", timeout=120)
        time.sleep(5)  # let pools, lazy imports and the first heartbeats settle
        idle = snapshot(procs)
        worker_members = tree_memory(procs["worker"].proc.pid)[2]
        sampler = PeakSampler({name: proc.proc.pid for name, proc in procs.items()})
        started = time.perf_counter()
        create_app(settings, process="cli").send_task(MONITOR, kwargs={"lookback_hours": EVERYTHING_HOURS})
        run = wait_for(lambda: next((r for r in store.last_runs(task=MONITOR, limit=1)
                                     if r.status is not RunStatus.RUNNING), None),
                       timeout=3600, interval=0.25, what="the monitoring run to close")
        elapsed = time.perf_counter() - started
        time.sleep(3)
        sampler.stop()
        after = snapshot(procs)
        concurrency = len(worker_members) - 1
        print(f"monitoring cycle: {run.status}, {run.counters.get('contracts_seen', 0)} contracts -> "
              f"{run.counters.get('investigations_created', 0)} investigations in {elapsed:.1f} s; "
              f"{sampler.samples} samples; worker concurrency {concurrency}")
        print_table(idle, sampler, after)
        print("worker tree, idle: " + "; ".join(f"{m[0].split()[0]} RSS {m[1]:.0f} PSS {m[2]:.0f}" for m in worker_members))
        print("worker tree, at its peak: " + "; ".join(f"{m[0].split()[0]} RSS {m[1]:.0f} PSS {m[2]:.0f}"
                                                    for m in sampler.worker_members))
    finally:
        for proc in procs.values():
            proc.stop(timeout=30)
        store.close()
        try:
            drop_database(admin_url, database_url)
        except Exception as error:  # keep the figures even if cleanup fails
            print(f"(could not drop {database_url.rsplit('/', 1)[-1]}: {error})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="simulator data set size (1.0 = ~10 000 contracts)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="WORKER_CONCURRENCY (default: the worker's own default)")
    parser.add_argument("--no-imports", action="store_true", help="skip the import-cost figures")
    parser.add_argument("--sentry", action="store_true",
                        help="set SENTRY_DSN (to a local ingest stand-in): the cost of error reporting")
    args = parser.parse_args()

    if not args.no_imports:
        base = import_cost("pass")
        costs = {
            "celery + kombu + redis": import_cost("import celery, kombu, redis"),
            "worker app + task modules": import_cost(
                "import services.worker as w; w.app; [__import__(m) for m in w.app.conf.include]"),
            "detection (shared.detection)": import_cost("import shared.detection"),
            "store (psycopg pool)": import_cost("import shared.store.postgres"),
            "supabase client": import_cost("import supabase"),
            "groq SDK": import_cost("import groq"),
            "API app (fastapi, services.api.app)": import_cost("import services.api.app"),
            "flower": import_cost("import flower.command"),
            "sentry-sdk core (only with SENTRY_DSN)": import_cost("import sentry_sdk"),
        }
        print(f"interpreter alone: RSS {base:.0f} MB; importing adds (RSS of a fresh interpreter after the import):")
        for what, rss in costs.items():
            print(f"  {what:<38} +{rss - base:.0f} MB")

    tmp = Path(tempfile.mkdtemp(prefix="vigia-bench-footprint-"))
    redis_server = postgres = None
    redis_url, admin_url = os.environ.get("REDIS_URL"), os.environ.get("DATABASE_URL")
    if not redis_url:
        redis_server = EmbeddedRedis(workdir=tmp / "redis").start()
        redis_url = redis_server.url
    if not admin_url:
        postgres = EmbeddedPostgres(datadir=tmp / "pg").start()
        admin_url = postgres.admin_url()
    sim_port = free_port()
    env: dict[str, Any] = {
        k: v for k, v in os.environ.items() if k not in ("WORKER_CONCURRENCY", "WEB_CONCURRENCY", "DATABASE_URL")
    }
    env.update({"ENVIRONMENT": "development", "VIGIA_ENV_FILE": "", "REDIS_URL": redis_url, "LOG_FORMAT": "json",
                "LOG_LEVEL": "INFO", "TRANSPARENCY_API_URL": f"http://127.0.0.1:{sim_port}/api-de-dados",
                "PORTAL_RATE_DAY_PER_MIN": "10000000", "PORTAL_RATE_NIGHT_PER_MIN": "10000000",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    simulator = ManagedProcess("simulator", [venv_bin("vigia"), "simulator", "serve", "--port", str(sim_port),
                                             "--seed", str(args.seed), "--scale", str(args.scale)], env)
    try:
        health = f"http://127.0.0.1:{sim_port}/__sim__/health"
        wait_for(lambda: httpx.get(health, timeout=1).json()["ok"], timeout=180, what="the simulator")
        served = httpx.get(health, timeout=5).json()["contracts"]
        print(f"data set: seed {args.seed}, scale {args.scale}: {served} contracts; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.1f}")
        if args.sentry:
            from tests.support.sentry_ingest import sentry_ingest

            with sentry_ingest() as ingest:
                print("SENTRY_DSN set (a local ingest stand-in): every process loads sentry-sdk")
                run({**env, "SENTRY_DSN": ingest.dsn}, admin_url, args)
                print(f"Sentry stand-in received {len(ingest.envelopes)} envelope(s)")
        else:
            run(env, admin_url, args)
    finally:
        simulator.stop()
        if postgres:
            postgres.stop()
        if redis_server:
            redis_server.stop()


if __name__ == "__main__":
    main()
