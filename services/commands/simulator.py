"""``vigia simulator serve``: the local Portal da Transparência stand-in (what ``make run`` uses).

Serves the seeded data set of :func:`shared.portal.simulator.dataset.generate_dataset` under
``http://HOST:PORT/api-de-dados`` until SIGINT/SIGTERM. Refuses ``ENVIRONMENT=production``:
simulated contracts must never reach a production database.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from functools import partial
from typing import Any

from shared.config import get_settings
from shared.logging import configure_logging

log = logging.getLogger("vigia.simulator")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("simulator", help="the local Portal da Transparência simulator")
    commands = parser.add_subparsers(dest="simulator_command", metavar="ACTION", required=True)
    serve = commands.add_parser("serve", help="serve the seeded data set under /api-de-dados")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument("--seed", type=int, default=7, help="data set seed (same seed, same data)")
    serve.add_argument("--scale", type=float, default=1.0, help="data set size (1.0 = about 10 000 contracts)")
    serve.add_argument("--rate-limit", type=int, default=None,
                       help="accepted requests per key per window; beyond it 429 (default: unlimited)")
    serve.add_argument("--rate-window", type=float, default=60.0, help="seconds of the rate window")
    serve.add_argument("--api-key", action="append", default=None,
                       help="accept only this key (repeatable); default: any non-empty key")
    serve.add_argument("--big-orgao", action="append", default=[], metavar="CODE:N",
                       help="also serve an órgão of N generated contracts, streamed (benchmarks)")
    serve.add_argument("--faults", default=None, help="initial fault configuration as a JSON object")
    serve.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging("cli")
    # Only an explicit ENVIRONMENT=production refuses: unset means production for the services,
    # but this is a development tool that holds no secrets and stores nothing.
    if settings.is_production and "environment" in settings.model_fields_set:
        log.error("the Portal simulator never runs with ENVIRONMENT=production: simulated contracts "
                  "must not reach real data; set TRANSPARENCY_API_KEY and use the real Portal")
        return 2

    from shared.portal.simulator.catalog import StreamedOrgao
    from shared.portal.simulator.dataset import big_orgao_contracts, generate_dataset
    from shared.portal.simulator.faults import ConfigError, FaultConfig
    from shared.portal.simulator.server import SimulatorServer

    try:
        overrides: dict[str, Any] = json.loads(args.faults) if args.faults else {}
        overrides.setdefault("rate_limit", args.rate_limit)
        overrides.setdefault("rate_window_seconds", args.rate_window)
        overrides.setdefault("api_keys", args.api_key)
        faults = FaultConfig.from_json(overrides)
        streamed = tuple(_streamed(spec, args.seed, big_orgao_contracts, StreamedOrgao) for spec in args.big_orgao)
    except (ValueError, ConfigError) as error:
        log.error("invalid simulator option: %s", error)
        return 2
    dataset = generate_dataset(args.seed, scale=args.scale) if args.scale > 0 else None
    server = SimulatorServer(dataset, host=args.host, port=args.port, faults=faults, streamed=streamed)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    stop.wait()
    log.info("Portal simulator stopping", extra={"served": server.requests.stats()["total"]})
    server.stop()
    return 0


def _streamed(spec: str, seed: int, generator: Any, cls: Any) -> Any:
    code, _, count = spec.partition(":")
    if not code.isdigit() or not count.isdigit() or int(count) < 1:
        raise ValueError(f"--big-orgao takes CODE:N with digits, got {spec!r}")
    return cls(code, int(count), partial(generator, code, int(count), seed))
