"""``vigia run TASK [key=value ...] [--inline]``: run a Vigia task now, with a progress bar.

By default the task is queued for the workers, as beat would queue it, and the command follows
it until its run closes: a monitoring cycle reports órgãos swept out of planned, a re-analysis
windows done, an on-demand investigation its progress. ``--inline`` runs it in this process
instead (Celery's eager mode: sub-tasks run here too, without time budgets), which needs the
database, Redis and the Portal reachable from here but no worker. ``--no-wait`` only queues it.

Names may be short (``monitor_new_contracts``) or full (``vigia.monitoring.monitor_new_contracts``);
``vigia run --list`` lists them. Arguments are ``key=value``; values are read as JSON when they
parse (``lookback_hours=24``, ``contract_ids=[1,2]``) and as text otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from typing import Any, TextIO

from services.bootstrap import bootstrap
from services.commands import Subparsers, add_command
from services.commands.task_args import BadArguments, check_task_arguments
from shared import task_names

DEFAULT_TIMEOUT = 6 * 3600.0
# Tasks that read the Portal: refused at once when no Portal can be reached without a key.
PORTAL_TASKS = frozenset({
    task_names.MONITOR_NEW_CONTRACTS, task_names.MONITOR_PRIORITY_ORGS,
    task_names.SWEEP_ORGAO, task_names.REFRESH_SANCTIONS, task_names.INVESTIGATE,
})


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "run", handle, help="run a task now (queued, or --inline here) with a progress bar")
    parser.add_argument("task", nargs="?", help="task name, e.g. monitor_new_contracts or vigia.maintenance.health_check")
    parser.add_argument("args", nargs="*", metavar="key=value", help="task keyword arguments")
    parser.add_argument("--inline", action="store_true", help="run in this process instead of on a worker")
    parser.add_argument("--no-wait", action="store_true", help="queue it and print its id")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait (default 6 h)")
    parser.add_argument("--list", action="store_true", help="list the tasks that can be run")


class ProgressBar:
    """A one-line bar on a terminal; plain lines (one per tenth) when the output is a file or a pipe."""

    def __init__(self, stream: TextIO, label: str, width: int = 30) -> None:
        self.stream, self.label, self.width = stream, label, width
        self.tty = stream.isatty()
        self._last: tuple[int, int | None, str] | None = None
        self._last_tenth = -1

    def update(self, done: int, total: int | None, unit: str = "") -> None:
        state = (done, total, unit)
        if state == self._last:
            return
        self._last = state
        if total:
            fraction = min(1.0, done / total)
            filled = int(fraction * self.width)
            text = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {unit}".rstrip()
            tenth = int(fraction * 10)
        else:
            text, tenth = f"{self.label} {done} {unit}".rstrip(), self._last_tenth + 1
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width + 40))
            self.stream.flush()
        elif tenth != self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self._last is not None:
            self.stream.write("\n")
            self.stream.flush()


def parse_kwargs(items: list[str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise SystemExit(f"vigia run: argument {item!r} is not key=value (e.g. lookback_hours=24)")
        try:
            kwargs[key] = json.loads(raw)
        except ValueError:
            kwargs[key] = raw
    return kwargs


def resolve_task(app: Any, name: str) -> str:
    ours = sorted(t for t in app.tasks if task_names.is_ours(t))
    if name in ours:
        return name
    matches = [t for t in ours if t.endswith("." + name) or t == f"{task_names.NAMESPACE}.{name}"]
    if len(matches) == 1:
        return matches[0]
    hint = f" (did you mean one of {matches}?)" if matches else ""
    raise SystemExit(f"vigia run: no task named {name!r}{hint}; `vigia run --list` lists them")


def _progress(task_id: str, kwargs: dict[str, Any]) -> tuple[int, int | None, str, bool | None]:
    """(done, total, unit, run closed?) of the run the task opened, or of its investigation."""
    from services.worker import resources
    from shared.domain import RunStatus
    from shared.pipeline.state import RunState, task_run

    redis, store = resources.get_redis(), resources.get_store()
    if "investigation_id" in kwargs:
        detail = store.get_investigation(str(kwargs["investigation_id"]))
        if detail is None:
            return 0, None, "", None
        closed = detail.investigation.status.is_terminal
        return int(round(detail.investigation.progress * 100)), 100, "%", closed
    run_id = task_run(redis, task_id)
    if run_id is None:
        return 0, None, "", None
    done, total = RunState(redis, run_id).progress()
    run = store.get_run(run_id)
    return done, total, "parts", None if run is None else run.status is not RunStatus.RUNNING


def _follow(task_id: str, kwargs: dict[str, Any], finished: Any, bar: ProgressBar, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, total, unit, closed = _progress(task_id, kwargs)
            bar.update(done, total, unit)
        except Exception:  # progress is informative; the result decides
            closed = None
        if finished() and closed is not False:
            return True
        time.sleep(0.5)
    return False


def _report(task_id: str, result: Any, out: TextIO) -> int:
    from services.worker import resources
    from shared.pipeline.state import task_run

    out.write(json.dumps({"task_id": task_id, "result": result}, default=str, ensure_ascii=False) + "\n")
    run_id = task_run(resources.get_redis(), task_id)
    if run_id is None and isinstance(result, dict) and isinstance(result.get("run_id"), int):
        run_id = result["run_id"]
    if run_id is not None:
        run = resources.get_store().get_run(run_id)
        if run is not None:
            out.write(json.dumps({"run_id": run.id, "status": str(run.status), "counters": run.counters,
                                  "error": run.error}, default=str, ensure_ascii=False) + "\n")
            return 0 if str(run.status) != "failed" else 1
    return 0


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _cannot_run(settings: Any, name: str) -> str | None:
    """Why ``name`` cannot run from here (Redis silent, no Portal to read), in one line; None if it can."""
    import redis

    from shared.portal.client import PortalNotConfigured, check_portal_settings
    from shared.redis_client import redis_client

    client = redis_client(settings, timeout=2, name="vigia-run")
    try:
        client.ping()
    except redis.RedisError as error:
        return (f"Redis at {_redacted(settings.broker_url)} does not answer ({error}); start the stack with "
                "`make run` (this command then finds it through .vigia/env) or set REDIS_URL")
    finally:
        client.close()
    if name in PORTAL_TASKS and not settings.is_production:
        try:
            check_portal_settings(settings)
        except PortalNotConfigured as error:
            return str(error)
    return None


def handle(args: argparse.Namespace) -> int:
    from services.celery_app import TASK_MODULES, create_app

    settings = bootstrap("cli")
    if not os.environ.get("LOG_FORMAT"):  # a .env copied from .env.example spells out json
        from shared.logging import configure_logging

        configure_logging("cli", fmt="console")  # a command at a terminal: lines for people
    app = create_app(settings, process="cli")
    for module in TASK_MODULES:
        __import__(module)
    out, err = sys.stdout, sys.stderr
    if args.list or not args.task:
        for name in sorted(t for t in app.tasks if task_names.is_ours(t)):
            doc = (app.tasks[name].__doc__ or "").strip().splitlines()
            out.write(f"{name:45} {doc[0] if doc else ''}\n")
        return 0 if args.list else 2
    name = resolve_task(app, args.task)
    try:
        kwargs = check_task_arguments(app.tasks[name], name, parse_kwargs(args.args))
    except BadArguments as error:
        err.write(f"vigia run: {error}\n")
        return 2
    problem = _cannot_run(settings, name)
    if problem is not None:
        err.write(f"vigia run: {problem}\n")
        return 2
    task_id = str(uuid.uuid4())
    bar = ProgressBar(err, name.rsplit(".", 1)[-1])
    if args.inline:
        app.conf.update(task_always_eager=True, task_eager_propagates=True)
        outcome: dict[str, Any] = {}

        def work() -> None:
            app.set_current()  # the current app is per thread; sub-tasks must find this eager one
            try:
                outcome["result"] = app.tasks[name].apply(kwargs=kwargs, task_id=task_id, throw=True).get()
            except BaseException as error:  # reported below, in the main thread
                outcome["error"] = error

        thread = threading.Thread(target=work, name="vigia-run-inline", daemon=True)
        thread.start()
        completed = _follow(task_id, kwargs, lambda: not thread.is_alive(), bar, args.timeout)
        bar.close()
        if not completed:
            err.write(f"vigia run: {name} still running after {args.timeout:.0f} s\n")
            return 3
        if "error" in outcome:
            err.write(f"vigia run: {name} failed: {type(outcome['error']).__name__}: {outcome['error']}\n")
            return 1
        return _report(task_id, outcome.get("result"), out)
    result = app.send_task(name, kwargs=kwargs, task_id=task_id)
    err.write(f"queued {name} as {task_id}\n")
    if args.no_wait:
        out.write(json.dumps({"task_id": task_id, "task": name}) + "\n")
        return 0
    completed = _follow(task_id, kwargs, result.ready, bar, args.timeout)
    bar.close()
    if not completed:
        err.write(f"vigia run: {name} still running after {args.timeout:.0f} s (task {task_id})\n")
        return 3
    if result.failed():
        err.write(f"vigia run: {name} failed: {result.result!r}\n")
        return 1
    return _report(task_id, result.result, out)
