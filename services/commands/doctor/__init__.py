"""``vigia doctor``: is this deployment healthy? One line per check, exit code 0 only when none fails.

Runs anywhere the processes run — a VPS (from the app folder, so ``.env`` is read), a Railway or
Render shell, a Compose container — with that place's environment. It never refuses to start for
a missing variable (that is one of the things it reports), and secrets never reach its output.
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from services.commands import Subparsers, add_command
from services.commands.doctor.checks import PROCESSES, run_checks
from shared.checks import Check
from shared.config import get_settings
from shared.logging import RedactingFilter, configure_logging

SYMBOLS = {"pass": "✓", "fail": "✗", "skip": "–"}


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "doctor", handle, help="check this deployment: Redis, database and "
                         "migrations, worker, beat, environment, keys, first run")
    parser.add_argument(
        "--process",
        default=",".join(PROCESSES),
        help="comma-separated processes whose environment to check (default: all; in one service's "
        "shell pass its own, e.g. --process worker)",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds each network call may take")
    parser.add_argument("--json", action="store_true", help="print the checks as one JSON document")


def format_check(check: Check) -> str:
    line = f"{SYMBOLS[check.verdict]} {check.title}: {check.detail}"
    if check.failed and check.fix:
        line += f" — fix: {check.fix}"
    return line


def handle(args: argparse.Namespace) -> int:
    """Each line is ✓ (passed), ✗ (failed, with the fix) or – (does not apply here). The exit code is 0
    only when no check failed."""
    processes = [p.strip() for p in args.process.split(",") if p.strip()]
    unknown = sorted(set(processes) - set(PROCESSES))
    if unknown:
        sys.stderr.write(f"vigia doctor: unknown process {', '.join(unknown)}; choose from {', '.join(PROCESSES)}\n")
        return 2
    try:
        settings = get_settings()
    except ValidationError as error:
        for item in error.errors():
            name = ".".join(str(p) for p in item["loc"]).upper()
            print(f"{SYMBOLS['fail']} environment complete: {name} is invalid: {item['msg']} — fix: correct {name}")
        return 1
    # Only warnings from libraries; the report is this command's output.
    configure_logging("cli", level="WARNING")
    results = run_checks(settings, processes=processes, timeout=args.timeout)
    redactor = RedactingFilter(settings.secret_values())
    if args.json:
        document = {
            "ok": not any(c.failed for c in results),
            "checks": [
                {"key": c.name, "title": c.title, "status": c.verdict,
                 "reason": redactor.redact(c.detail), "fix": redactor.redact(c.fix)}
                for c in results
            ],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for check in results:
            print(redactor.redact(format_check(check)))
        failed = sum(c.failed for c in results)
        skipped = sum(c.status == "skipped" for c in results)
        print(f"{len(results) - failed - skipped} of {len(results)} checks passed, {failed} failed, {skipped} not applicable")
    return 1 if any(c.failed for c in results) else 0
