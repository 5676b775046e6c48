"""How much of the Portal budget K worker processes use through the shared limiter, and 429s.

1. Starts an embedded Redis (or uses REDIS_URL) and ``vigia simulator serve`` as its own process,
   enforcing ``--budget`` requests per ``--window`` seconds per key (a sliding window: at no moment
   may the last window hold more).
2. Starts ``--workers`` OS processes; each builds ``PortalClient.from_settings`` with the shared
   Redis limiter, exactly as a worker does, and sweeps every órgão of the data set round and round
   for ``--seconds``.
3. Reads the simulator's request log and prints: requests, achieved rate per minute, the budget,
   the share of it used, the 429 count, the busiest window, and requests per worker.

    .venv/bin/python benchmarks/portal_rate.py [--budget 600] [--window 60] [--seconds 90] [--workers 2]

Use ``--budget 90`` for the Portal's daytime figure (it takes longer to say much). The machine's
other load can only lower the achieved rate, never add 429s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.dev.embedded import EmbeddedRedis, free_port  # noqa: E402
from shared.portal.simulator.admin import SimulatorAdmin  # noqa: E402
from tests.support.processes import ManagedProcess  # noqa: E402


def worker(start_at: float, until: float) -> None:
    """One sweep process: the client a Celery worker would build, sweeping until ``until``."""
    import redis

    from shared.config import get_settings
    from shared.portal.client import PortalClient
    from shared.portal.errors import PortalError

    settings = get_settings()
    connection = redis.Redis.from_url(settings.broker_url)
    client = PortalClient.from_settings(settings, connection)
    codes = [o["codigo"] for o in client.iter_orgaos()]
    time.sleep(max(0.0, start_at - time.time()))
    requests = errors = 0
    while time.time() < until:
        for code in codes:
            try:
                for _page in client.iter_contract_pages(code):
                    requests += 1
                    if time.time() >= until:
                        break
            except PortalError as error:
                errors += 1
                print(f"error: {error}", file=sys.stderr)
            if time.time() >= until:
                break
    print(json.dumps({"pid": os.getpid(), "requests": requests, "errors": errors}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=600, help="requests per minute per key")
    parser.add_argument("--window", type=float, default=60.0, help="seconds of the simulator's sliding window")
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker", nargs=2, type=float, metavar=("START_AT", "UNTIL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0

    redis_server = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis_server = EmbeddedRedis().start()
        redis_url = redis_server.url
    per_window = int(args.budget * args.window / 60)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"TRANSPARENCY_API_KEY"}}
    env.update(ENVIRONMENT="development", VIGIA_ENV_FILE="", LOG_FORMAT="json", PYTHONUNBUFFERED="1",
               LOG_LEVEL="WARNING", REDIS_URL=redis_url,
               TRANSPARENCY_API_URL=f"http://127.0.0.1:{port}/api-de-dados",
               PORTAL_RATE_DAY_PER_MIN=str(args.budget), PORTAL_RATE_NIGHT_PER_MIN=str(args.budget))
    simulator = ManagedProcess("simulator", [sys.executable, "-m", "services.cli", "simulator", "serve",
                                             "--port", str(port), "--rate-limit", str(per_window),
                                             "--rate-window", str(args.window)], {**env, "LOG_LEVEL": "INFO"})
    workers: list[ManagedProcess] = []
    try:
        simulator.wait_for_line("Portal simulator listening", timeout=60)
        start_at = time.time() + 5.0
        until = start_at + args.seconds
        workers = [ManagedProcess(f"worker-{i}", [sys.executable, __file__, "--worker", str(start_at), str(until)], env)
                   for i in range(args.workers)]
        for process in workers:
            process.proc.wait(until - time.time() + 60)
        with SimulatorAdmin(f"http://127.0.0.1:{port}") as admin:
            log = admin.requests()
        summaries = [json.loads(line) for p in workers for line in p.lines if line.startswith('{"pid"')]
    finally:
        for process in [*workers, simulator]:
            process.stop()
        if redis_server is not None:
            redis_server.stop()

    contract_log = [r for r in log if r["path"] == "/contratos"]
    times = sorted(r["monotonic"] for r in contract_log)
    statuses = [r["status"] for r in contract_log]
    span = times[-1] - times[0]
    achieved = (len(times) - 1) / span * 60
    busiest = 0
    j = 0
    for i in range(len(times)):
        while j < len(times) and times[j] - times[i] < args.window:
            j += 1
        busiest = max(busiest, j - i)
    print(f"workers            : {args.workers} processes, one shared Redis limiter")
    print(f"budget             : {args.budget} requests/min ({per_window} per {args.window:g} s sliding window)")
    print(f"requests           : {len(times)} over {span:.1f} s")
    print(f"achieved rate      : {achieved:.1f} requests/min ({achieved / args.budget:.1%} of the budget)")
    print(f"429 responses      : {statuses.count(429)}")
    print(f"busiest window     : {busiest} requests in {args.window:g} s (limit {per_window})")
    print(f"per worker         : {[s['requests'] for s in summaries]} requests, errors {[s['errors'] for s in summaries]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
