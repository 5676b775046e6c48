"""Client memory while streaming one huge órgão from the simulator (default 100 000 contracts).

Starts ``vigia simulator serve --big-orgao 99999:N`` as its own process (it generates the órgão's
contracts one page at a time), then streams them through ``PortalClient.iter_contract_pages`` in
this process, parsing every record into a Contract and dropping it, as a sweep does. Prints
contracts/s, the RSS after the first 100 pages, at the end, and the peak (ru_maxrss); flat memory
means the end is close to the warm-up figure. The id set kept for deduplication is the only thing
that grows (about 70 bytes per contract).

    .venv/bin/python benchmarks/portal_stream.py [--contracts 100000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from services.dev.embedded import free_port  # noqa: E402
from shared.domain import Source  # noqa: E402
from shared.portal.breaker import CircuitBreaker  # noqa: E402
from shared.portal.client import PortalClient  # noqa: E402
from shared.portal.transport import RetryPolicy  # noqa: E402
from tests.support.processes import ManagedProcess  # noqa: E402

CODE = "99999"
MIB = 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100_000)
    args = parser.parse_args()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TRANSPARENCY_API_KEY"}
    env.update(ENVIRONMENT="development", VIGIA_ENV_FILE="", LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-m", "services.cli", "simulator", "serve", "--port", str(port), "--scale", "0",
            "--big-orgao", f"{CODE}:{args.contracts}"]
    process = psutil.Process()
    with ManagedProcess("simulator", argv, env) as simulator:
        simulator.wait_for_line("Portal simulator listening", timeout=60)
        rss_start = process.memory_info().rss
        rss_warm = 0
        seen = rejected = pages = 0
        started = time.perf_counter()
        with PortalClient(base_url=f"http://127.0.0.1:{port}/api-de-dados", api_key="benchmark-key-0001",  # pragma: allowlist secret
                          source=Source.SIMULATOR, timeout=30.0, retry=RetryPolicy(max_retries=5), breaker=CircuitBreaker(failure_threshold=5, reset_seconds=120.0)) as client:
            for page in client.iter_contract_pages(CODE):
                pages += 1
                seen += len(page.items)
                rejected += len(page.rejected)
                if page.number == 100:
                    rss_warm = process.memory_info().rss
        elapsed = time.perf_counter() - started
        rss_end = process.memory_info().rss
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(f"streamed           : {seen} contracts in {pages} pages ({rejected} rejected) in {elapsed:.1f} s")
    print(f"throughput         : {seen / elapsed:,.0f} contracts/s, {pages / elapsed:,.0f} pages/s "
          f"(simulator and client share this machine)")
    print(f"client RSS         : start {rss_start / MIB:.1f} MiB, after 100 pages {rss_warm / MIB:.1f} MiB, "
          f"end {rss_end / MIB:.1f} MiB")
    print(f"growth after warmup: {(rss_end - rss_warm) / MIB:.1f} MiB for {seen - 1500} more contracts")
    print(f"peak RSS           : {peak / MIB:.1f} MiB")
    return 0 if seen == args.contracts else 1


if __name__ == "__main__":
    sys.exit(main())
