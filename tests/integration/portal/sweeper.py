"""One sweep worker for the shared-budget test: an OS process sweeping órgãos through the Portal client.

Built exactly as a worker builds its client (``PortalClient.from_settings`` with the process's
Redis), it waits for ``--start-at``, sweeps the given órgãos round and round until ``--until``
(epoch seconds), and prints one JSON line with what it did. ``--private-limiter`` gives the
process a limiter of its own: the control case, where the budget is not shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import redis

from shared.config import get_settings
from shared.portal.client import PortalClient
from shared.portal.errors import PortalError
from shared.portal.ratelimit import RateLimiter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgaos", required=True)
    parser.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--until", type=float, required=True)
    parser.add_argument("--private-limiter", action="store_true")
    args = parser.parse_args(argv)

    settings = get_settings()
    connection = redis.Redis.from_url(settings.broker_url)
    overrides = {}
    if args.private_limiter:
        overrides["limiter"] = RateLimiter.from_settings(settings, connection, key_id=f"private-{os.getpid()}")
    client = PortalClient.from_settings(settings, connection, **overrides)
    codes = args.orgaos.split(",")
    time.sleep(max(0.0, args.start_at - time.time()))
    requests = contracts = errors = 0
    while time.time() < args.until:
        for code in codes:
            try:
                for page in client.iter_contract_pages(code):
                    requests += 1
                    contracts += len(page.items)
                    if time.time() >= args.until:
                        break
            except PortalError as error:
                errors += 1
                sys.stderr.write(f"{type(error).__name__}: {error}\n")
            if time.time() >= args.until:
                break
    client.close()
    print(json.dumps({"pid": os.getpid(), "requests": requests, "contracts": contracts, "errors": errors}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
