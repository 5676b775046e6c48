"""What one flooding client costs another: p99 of a polite client alone, then during a flood.

Starts an embedded Redis and PostgreSQL (or uses REDIS_URL / DATABASE_URL), stores a few
investigations, and runs the Procfile's ``web`` (gunicorn, 2 workers) with a per-client read
limit. Then, for D seconds each:

1. the polite client alone: one request every 1/R s (open loop, so a slow answer does not slow
   its sending) to ``GET /api/v1/investigations`` from address B;
2. the same from address B' (so neither phase nears its own limit) while wrk floods the same endpoint from address A with C connections, far over A's
   limit.

Addresses are told apart with ``X-Forwarded-For`` (with ``API_TRUSTED_PROXY_HOPS=1``, as behind
a platform proxy that appends one entry). Prints both p99s, their ratio (target: at most 2), and how the flood was answered.
The machine may be shared with other work: both phases run back to back in one run.

    .venv/bin/python benchmarks/flood.py [--seconds 15] [--rate 20] [--connections 32] [--limit 600/minute]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._servers import local_servers  # noqa: E402
from services.dev.embedded import free_port  # noqa: E402
from services.dev.procfile import expand, read_procfile  # noqa: E402
from tests.support.processes import ManagedProcess, venv_bin, wait_for  # noqa: E402

API_KEY = "benchmark-flood-key-0123456789"  # pragma: allowlist secret
PATH = "/api/v1/investigations"


def polite(url: str, seconds: float, rate: float, address: str) -> tuple[list[float], dict[int, int]]:
    """Open-loop requests at ``rate``/s from ``address``: latencies of the 200s, and every status."""

    async def main() -> tuple[list[float], dict[int, int]]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        async with httpx.AsyncClient(timeout=30, headers={"X-Forwarded-For": address}) as client:

            async def one() -> None:
                started = time.perf_counter()
                response = await client.get(url)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)

            tasks = []
            start = time.perf_counter()
            for n in range(int(seconds * rate)):
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one()))
            await asyncio.gather(*tasks)
        return latencies, statuses

    return asyncio.run(main())


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=20.0, help="the polite client's requests per second")
    parser.add_argument("--connections", type=int, default=32, help="the flooding client's wrk connections")
    parser.add_argument("--limit", default="600/minute", help="API_RATE_LIMIT_READS")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed for the flood (Debian package wrk)")

    with local_servers("vigia-bench-flood-") as (tmp, redis_url, database_url):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from api import seed  # the API benchmark's COPY seeding

        seed(database_url, 10_000)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            ENVIRONMENT="production", VIGIA_ENV_FILE="", REDIS_URL=redis_url, DATABASE_URL=database_url,
            PORT=str(port), API_KEYS=API_KEY, LOG_FORMAT="json", PYTHONUNBUFFERED="1",
            API_RATE_LIMIT_READS=args.limit,
            # The rightmost X-Forwarded-For entry stands for what a platform proxy appended.
            API_TRUSTED_PROXY_HOPS="1",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        argv = expand(read_procfile()["web"], env)
        argv[0] = venv_bin(argv[0])
        url = f"http://127.0.0.1:{port}{PATH}"
        with ManagedProcess("web", argv, env):
            wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200,
                     timeout=60, what="gunicorn to be ready")
            # One address a phase: the polite client's two phases together would come near its own limit.
            alone, alone_statuses = polite(url, args.seconds, args.rate, "198.51.100.2")
            flood = subprocess.Popen(
                ["wrk", "-t2", f"-c{args.connections}", f"-d{int(args.seconds) + 2}s", "-H",
                 "X-Forwarded-For: 203.0.113.66", url],
                stdout=subprocess.PIPE, text=True,
            )
            time.sleep(1)  # the flood is under way before the polite client starts
            during, during_statuses = polite(url, args.seconds, args.rate, "198.51.100.3")
            flood_out, _ = flood.communicate(timeout=args.seconds + 60)
        total = re.search(r"(\d+) requests in", flood_out)
        refused = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", flood_out)
        print(f"limit {args.limit} per client, gunicorn workers={env.get('WEB_CONCURRENCY', '2 (default)')}, "
              f"{os.cpu_count()} cores shared with wrk, the polite client and any other load on the machine")
        print(f"polite client alone:        {len(alone)} answered 200, p99 {p99(alone):.1f} ms, statuses {alone_statuses}")
        print(f"polite client during flood: {len(during)} answered 200, p99 {p99(during):.1f} ms, statuses {during_statuses}")
        print(f"flooding client: {total[1] if total else '?'} requests, {refused[1] if refused else 0} refused (429)")
        print(f"ratio p99 flood/alone: {p99(during) / p99(alone):.2f} (target <= 2)")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
