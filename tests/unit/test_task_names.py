"""Celery task names are spelled in one module: no other source file writes a ``vigia.<area>.<task>`` name."""

from __future__ import annotations

import ast
import re

from services.celery_app import TASK_MODULES, create_app
from shared import task_names
from shared.config import Settings
from tests.support.processes import REPO_ROOT

NAMES_MODULE = REPO_ROOT / "shared" / "task_names.py"
AREAS = (task_names.MONITORING, task_names.ANALYSIS, task_names.MAINTENANCE, task_names.SYSTEM, task_names.ALERTS)


def _names() -> dict[str, str]:
    return {
        name: value for name, value in vars(task_names).items()
        if name.isupper() and isinstance(value, str) and value.count(".") == 2
    }


def test_it_puts_every_name_in_one_area_of_the_vigia_namespace_once() -> None:
    names = _names()
    assert names, "shared.task_names names no task"
    assert all(task_names.is_ours(value) and value.rsplit(".", 1)[0] in AREAS for value in names.values())
    assert len(set(names.values())) == len(names), "two constants for one task name"
    assert set(task_names.MONITOR_CYCLES) <= set(names.values())


def test_it_names_exactly_the_tasks_the_worker_registers() -> None:
    app = create_app(Settings(_env_file=None), process="cli")
    for module in TASK_MODULES:
        __import__(module)
    registered = {name for name in app.tasks if task_names.is_ours(name)}
    assert registered == set(_names().values())


def test_it_keeps_task_name_literals_out_of_every_other_module() -> None:
    # A whole string that is a task name, an area or its route pattern, or the bare namespace prefix;
    # prose that mentions a name (a docstring, a help text) is not a name in use, nor is a logger's name.
    areas = "|".join(re.escape(area) for area in AREAS)
    spelled_name = re.compile(rf"({areas})(\.[\w*]+)?|{re.escape(task_names.NAMESPACE)}\.")
    spelled: list[str] = []
    for root in ("shared", "services"):
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            if path == NAMES_MODULE:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            loggers = {id(call.args[0]) for call in ast.walk(tree) if isinstance(call, ast.Call) and call.args
                       and isinstance(call.func, ast.Attribute) and call.func.attr == "getLogger"}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in loggers
                        and spelled_name.fullmatch(node.value)):
                    spelled.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.value!r}")
    assert not spelled, "task names spelled outside shared/task_names.py:\n" + "\n".join(spelled)
