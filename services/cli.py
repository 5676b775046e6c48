"""The ``vigia`` command. Each subcommand lives in its own module of ``services.commands``.

A module there exposes ``register(subparsers)``, which adds its parser and sets
``handler(args) -> int`` as the default ``func``. Adding a command means adding a module and
its name to :data:`COMMANDS`; nothing else changes.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: tuple[str, ...] = ("dev", "migrate", "simulator", "schedule", "doctor", "run")
# Commands a second terminal runs against a `vigia dev` stack: they read its .vigia/env while it runs.
USE_DEV_STACK: frozenset[str] = frozenset({"schedule", "doctor", "run"})


def build_parser(commands: tuple[str, ...] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigia",
        description="Vigia: 24/7 workers that watch Brazilian federal contracts for red flags.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands:
        importlib.import_module(f"services.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Import only the command asked for: one command module's import-time work (a process package
    # that validates its own settings) must never stop another, e.g. `vigia doctor` or the release's
    # `vigia migrate` in an environment that another process would refuse.
    chosen = (argv[0],) if argv and argv[0] in COMMANDS else COMMANDS
    parser = build_parser(chosen)
    args = parser.parse_args(argv)
    if args.command in USE_DEV_STACK:
        _use_dev_stack()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


def _use_dev_stack() -> None:
    from services.dev import stackenv

    found = stackenv.apply()
    if found is not None:
        from shared.config import get_settings

        get_settings.cache_clear()
    if found is not None and found.applied:
        sys.stderr.write(f"(using the `vigia dev` stack running as pid {found.pid}: {found.path})\n")


if __name__ == "__main__":
    sys.exit(main())
