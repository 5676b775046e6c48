"""Subcommands of ``vigia`` (see :mod:`services.cli`)."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import TypeAlias

# What ``register(subparsers)`` receives (a string: the class is not subscriptable at run time).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command(
    subparsers: Subparsers,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    help: str,  # noqa: A002 - argparse's own name for it
) -> argparse.ArgumentParser:
    """Add ``vigia <name>``, run by ``handler(args) -> exit code``; the caller adds its arguments.

    ``help`` is the line ``vigia --help`` lists; the handler's docstring is ``vigia <name> --help``'s
    description, so what a command does is written once, where it is done.
    """
    parser = subparsers.add_parser(name, help=help, description=inspect.getdoc(handler))
    parser.set_defaults(func=handler)
    return parser
