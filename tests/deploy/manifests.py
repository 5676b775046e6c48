"""Read every deploy manifest and reduce its commands to the Procfile's form, for the deploy tests.

Exec-form runners (Railway's Docker builder, Compose, supervisor) run a command without a shell,
so a command that reads a variable (Flower's ``$PORT``) is wrapped as ``/bin/sh -c "exec …"``;
:func:`unwrap` undoes exactly that wrapping and nothing else, so any other difference from the
Procfile still fails the parity tests.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from configparser import RawConfigParser
from pathlib import Path
from typing import Any

import yaml

from services.dev.procfile import read_procfile
from tests.support.processes import REPO_ROOT

RENDER = REPO_ROOT / "render.yaml"
RAILWAY_ROOT = REPO_ROOT / "railway.json"
RAILWAY_DIR = REPO_ROOT / "railway"
COMPOSE = REPO_ROOT / "docker-compose.workers.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
INSTALLER = REPO_ROOT / "deploy" / "vps" / "install.sh"
ENV_EXAMPLE = REPO_ROOT / ".env.example"

# Which Railway config file describes which Procfile process.
RAILWAY_FILES = {"web": RAILWAY_ROOT, "worker": RAILWAY_DIR / "worker.json",
                 "beat": RAILWAY_DIR / "beat.json", "flower": RAILWAY_DIR / "flower.json"}
# Which render.yaml service runs which Procfile process.
RENDER_SERVICES = {"web": "vigia-api", "worker": "vigia-worker", "beat": "vigia-beat", "flower": "vigia-flower"}


def procfile() -> dict[str, str]:
    return read_procfile()


def words(command: str) -> list[str]:
    return shlex.split(command)


def unwrap(command: str | list[str]) -> str:
    """``/bin/sh -c "exec X"`` (string or exec-form list) -> ``X``; anything else unchanged."""
    argv = list(command) if isinstance(command, list) else shlex.split(command)
    if len(argv) == 3 and argv[0] in ("/bin/sh", "sh") and argv[1] == "-c" and argv[2].startswith("exec "):
        return argv[2][len("exec "):]
    return shlex.join(argv) if isinstance(command, list) else command


def is_wrapped(command: str | list[str]) -> bool:
    return unwrap(command) != (shlex.join(command) if isinstance(command, list) else command)


def load_render() -> dict[str, Any]:
    return yaml.safe_load(RENDER.read_text())


def render_services() -> dict[str, dict[str, Any]]:
    return {service["name"]: service for service in load_render()["services"]}


def render_groups() -> dict[str, dict[str, Any]]:
    return {group["name"]: group for group in load_render().get("envVarGroups", [])}


def render_env_keys(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every variable a service gets (its own and its groups'), name -> declaration."""
    groups = render_groups()
    declared: dict[str, dict[str, Any]] = {}
    for item in service.get("envVars", []):
        if "fromGroup" in item:
            for var in groups[item["fromGroup"]]["envVars"]:
                declared[var["key"]] = var
        else:
            declared[item["key"]] = item
    return declared


def railway_configs() -> dict[str, dict[str, Any]]:
    return {process: json.loads(path.read_text()) for process, path in RAILWAY_FILES.items()}


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose_command(service: dict[str, Any]) -> str:
    """A Compose command as the container sees it: ``$$`` is Compose's escape for ``$``."""
    command = service["command"]
    if isinstance(command, list):
        command = [part.replace("$$", "$") for part in command]
    else:
        command = command.replace("$$", "$")
    return unwrap(command)


def env_example_names() -> list[str]:
    names = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and line[0].isupper() and "=" in line:
            names.append(line.split("=", 1)[0])
    return names


def run_installer(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``install.sh --dry-run --root ROOT ...``: writes the program files and .env under ROOT only."""
    return subprocess.run(
        ["bash", str(INSTALLER), "--dry-run", "--root", str(root), *args],
        capture_output=True, text=True, timeout=60, check=False,
        env=env or {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)},
    )


def supervisor_programs(conf_dir: Path) -> dict[str, dict[str, str]]:
    """``[program:vigia-x]`` sections of the written files, keyed by process name ``x``."""
    programs: dict[str, dict[str, str]] = {}
    for path in sorted(conf_dir.glob("vigia-*.conf")):
        parser = RawConfigParser()
        parser.read(path)
        for section in parser.sections():
            if section.startswith("program:vigia-"):
                programs[section.removeprefix("program:vigia-")] = dict(parser.items(section))
    return programs
