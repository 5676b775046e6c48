"""Check ``vigia run``'s ``key=value`` arguments against the task's own signature before anything is sent.

A task queued with an argument it does not take fails later, in the worker, with a TypeError
nobody at the terminal sees (and ``--no-wait`` would have exited 0). The names come from the
task function's signature and the values are checked against its type hints (lax, as JSON
gives them: ``lookback_hours=24`` is an int, ``investigation_id=<uuid>`` text).
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from pydantic import TypeAdapter, ValidationError


class BadArguments(ValueError):
    """The arguments do not fit the task; the message names the task, the argument and what it takes."""


def describe_parameters(task: Any) -> str:
    params = [p for p in inspect.signature(task.run).parameters.values() if p.name != "self"]
    if not params:
        return "takes no arguments"
    shown = []
    for p in params:
        kind = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", str(p.annotation))
        shown.append(f"{p.name} ({kind}{'' if p.default is inspect.Parameter.empty else ', optional'})")
    return "takes " + ", ".join(shown)


def check_task_arguments(task: Any, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` converted to the task's types; raises :class:`BadArguments` naming what is wrong."""
    short = name.rsplit(".", 1)[-1]
    signature = inspect.signature(task.run)
    accepted = {n: p for n, p in signature.parameters.items() if n != "self"}
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise BadArguments(f"{short} has no argument {', '.join(map(repr, unknown))}: it {describe_parameters(task)}")
    missing = [n for n, p in accepted.items() if p.default is inspect.Parameter.empty and n not in kwargs]
    if missing:
        raise BadArguments(f"{short} needs {', '.join(missing)}: it {describe_parameters(task)}")
    try:
        hints = typing.get_type_hints(task.run)
    except Exception:  # an unresolvable hint: the names were checked, the worker checks the rest
        hints = {}
    checked: dict[str, Any] = {}
    for key, value in kwargs.items():
        hint = hints.get(key)
        if hint is None or hint is Any:
            checked[key] = value
            continue
        try:
            checked[key] = TypeAdapter(hint).validate_python(value)
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise BadArguments(f"{short}: {key}={value!r} is invalid ({problem}); it {describe_parameters(task)}") from None
    return checked
