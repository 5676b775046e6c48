"""``.vigia/env``: where a running ``vigia dev`` stack is, for the commands of a second terminal.

``vigia dev`` writes the file once its servers are up (Redis, PostgreSQL, the Portal simulator and
the settings its children run with) and removes it when it stops. ``vigia doctor``,
``vigia schedule`` and ``vigia run`` read it before their settings, but only while the ``vigia
dev`` that wrote it is still alive (its pid answers and is a ``vigia dev`` process): a file left by
a killed stack must never point a command at servers that are gone, or at another program that
took the pid. A variable already set in the environment wins over the file, so an operator's
explicit ``REDIS_URL`` is never replaced.

The file is ``KEY=value`` lines quoted for the shell, so other tools can use it too:
``set -a; . .vigia/env; set +a``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

FILE_NAME = "env"
PID_VARIABLE = "VIGIA_DEV_PID"
# What the stack's children are given that a second terminal needs too.
SHARED_VARIABLES = (
    "ENVIRONMENT",
    "REDIS_URL",
    "DATABASE_URL",
    "TRANSPARENCY_API_URL",
    "PORTAL_RATE_DAY_PER_MIN",
    "PORTAL_RATE_NIGHT_PER_MIN",
    "VIGIA_DATA_DIR",
)


def env_file(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def write(data_dir: Path, env: Mapping[str, str], pid: int | None = None) -> Path:
    """Write the stack's variables (and this process's pid) for other terminals; return the path."""
    path = env_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `vigia dev` while it runs; removed when it stops. Do not edit."]
    lines.append(f"{PID_VARIABLE}={os.getpid() if pid is None else pid}")
    for name in SHARED_VARIABLES:
        if env.get(name):
            lines.append(f"{name}={shlex.quote(env[name])}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.chmod(0o600)  # a DATABASE_URL from .env may carry a password
    tmp.replace(path)
    return path


def remove(data_dir: Path) -> None:
    env_file(data_dir).unlink(missing_ok=True)


def parse(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, raw = line.partition("=")
        parts = shlex.split(raw)
        values[name.strip()] = parts[0] if parts else ""
    return values


def _is_dev_process(pid: int) -> bool:
    try:
        argv = psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    # `vigia dev`, `python -m services.cli dev`, `make run` → `.venv/bin/vigia dev`
    return "dev" in argv[1:] and any("vigia" in part or "services.cli" in part for part in argv)


@dataclass(frozen=True)
class StackEnv:
    path: Path
    pid: int
    applied: dict[str, str]


def apply(environ: MutableMapping[str, str] | None = None, data_dir: Path | None = None) -> StackEnv | None:
    """Put a live stack's variables into ``environ`` (``os.environ``) where not already set.

    Returns what was applied, or None when there is no file or the stack that wrote it is gone.
    """
    environ = os.environ if environ is None else environ
    folder = data_dir or Path(environ.get("VIGIA_DATA_DIR") or ".vigia")
    path = env_file(folder)
    try:
        values = parse(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    try:
        pid = int(values.pop(PID_VARIABLE, ""))
    except ValueError:
        return None
    if not _is_dev_process(pid):
        return None
    applied = {name: value for name, value in values.items() if name in SHARED_VARIABLES and not environ.get(name)}
    environ.update(applied)
    return StackEnv(path, pid, applied)
