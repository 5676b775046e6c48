"""Start-up time and idle memory of the worker and the API, as the Procfile starts them.

Starts an embedded Redis and PostgreSQL (or uses REDIS_URL / DATABASE_URL), then for each
process measures the seconds from spawn to ready (worker: its "worker ready" log line; web:
/health answering) and, after it settles, the resident memory (RSS) of the process and all its
children. Also reports how long importing the worker app takes and that it pulls in none of the
API, Groq or Supabase clients.

    .venv/bin/python benchmarks/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._memory import tree_memory_mb  # noqa: E402
from services.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402
from services.dev.procfile import expand, read_procfile  # noqa: E402
from shared.store.migrate import migrate  # noqa: E402
from tests.support.processes import ManagedProcess, venv_bin, wait_for  # noqa: E402


def measure(name: str, env: dict[str, str]) -> tuple[float, float, float]:
    argv = expand(read_procfile()[name], env)
    argv[0] = venv_bin(argv[0])
    started = time.perf_counter()
    with ManagedProcess(name, argv, env) as proc:
        if name == "worker":
            proc.wait_for_line("worker ready", timeout=120)
        else:
            url = f"http://127.0.0.1:{env['PORT']}/health"
            wait_for(lambda: httpx.get(url, timeout=1).status_code == 200, timeout=120, what="/health")
        ready = time.perf_counter() - started
        time.sleep(3)  # let pools and lazy imports settle before reading idle memory
        rss, pss = tree_memory_mb(proc.proc.pid)
    return ready, rss, pss


def import_cost() -> tuple[float, list[str]]:
    code = (
        "import sys, time; t=time.perf_counter(); import services.worker as w; w.app; "
        "w.app.loader.import_default_modules(); [__import__(m) for m in w.app.conf.include]; "
        "print(time.perf_counter()-t); "
        "print(','.join(m for m in ('fastapi','groq','supabase','services.api') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "ENVIRONMENT": "development", "VIGIA_ENV_FILE": ""}).stdout.split("\n")
    return float(out[0]), [m for m in out[1].split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vigia-bench-"))
    redis = postgres = None
    redis_url = os.environ.get("REDIS_URL")
    database_url = os.environ.get("DATABASE_URL")
    if not redis_url:
        redis = EmbeddedRedis(workdir=tmp / "redis").start()
        redis_url = redis.url
    if not database_url:
        postgres = EmbeddedPostgres(datadir=tmp / "pg").start()
        database_url = postgres.url
    migrate(database_url)
    env = {**os.environ, "ENVIRONMENT": "development", "VIGIA_ENV_FILE": "", "REDIS_URL": redis_url,
           "DATABASE_URL": database_url, "LOG_FORMAT": "json", "PORT": str(free_port()),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        seconds, heavy = import_cost()
        print(f"import services.worker app + tasks: {seconds * 1000:.0f} ms; API/Groq/Supabase modules loaded: {heavy or 'none'}")
        for name in ("worker", "web"):
            results = [measure(name, env) for _ in range(args.runs)]
            ready = [r[0] for r in results]
            rss = [r[1] for r in results]
            pss = [r[2] for r in results]
            print(f"{name:<7} start-up to ready: median {statistics.median(ready):.2f} s (min {min(ready):.2f}, max {max(ready):.2f});"
                  f" idle memory of the process tree: RSS {statistics.median(rss):.0f} MB, PSS {statistics.median(pss):.0f} MB")
    finally:
        if postgres:
            postgres.stop()
        if redis:
            redis.stop()


if __name__ == "__main__":
    main()
