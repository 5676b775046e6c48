"""``vigia dev`` (what ``make run`` calls): every process of the Procfile, on real local servers."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from services.dev.runner import DevOptions, run
from shared.config import get_settings
from shared.logging import configure_logging


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dev",
        help="run Vigia locally: embedded Redis/PostgreSQL when not configured, then web, worker, beat, flower",
    )
    parser.add_argument("--web-port", type=int, default=8000)
    parser.add_argument("--flower-port", type=int, default=5555)
    parser.add_argument("--redis-port", type=int, default=6380, help="port of the embedded Redis")
    parser.add_argument("--postgres-port", type=int, default=5433, help="port of the embedded PostgreSQL")
    parser.add_argument("--simulator-port", type=int, default=8090, help="port of the Portal simulator")
    parser.add_argument("--only", default=",".join(("web", "worker", "beat", "flower")),
                        help="comma-separated Procfile processes to start")
    parser.add_argument("--no-first-cycle", action="store_true",
                        help="do not run the first monitoring cycle over the simulator at start-up")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    settings = get_settings()
    if "environment" not in settings.model_fields_set:
        # Unset means production everywhere else; `vigia dev` (and `make run`) alone assume
        # development, for itself and, through the environment, for every process it starts.
        os.environ["ENVIRONMENT"] = "development"
        get_settings.cache_clear()
        settings = get_settings()
    # The runner's own records are for the person at the terminal unless LOG_FORMAT says otherwise.
    configure_logging("dev", fmt=os.environ.get("LOG_FORMAT") or "console")
    if settings.is_production:
        import logging

        logging.getLogger("vigia.dev").error("vigia dev is for development; ENVIRONMENT=production refuses it")
        return 2
    options = DevOptions(
        web_port=args.web_port,
        flower_port=args.flower_port,
        redis_port=args.redis_port,
        postgres_port=args.postgres_port,
        simulator_port=args.simulator_port,
        data_dir=Path(settings.vigia_data_dir),
        processes=tuple(p.strip() for p in args.only.split(",") if p.strip()),
        first_cycle=not args.no_first_cycle,
    )
    return run(options, settings)
