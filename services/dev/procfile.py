"""Read the Procfile: the single list of process commands every manifest repeats."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROCFILE = REPO_ROOT / "Procfile"

_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_-]+):\s*(?P<command>.+?)\s*$")


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    """Process name -> command line, in file order."""
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: not a '<name>: <command>' line: {line!r}")
        entries[match["name"]] = match["command"]
    return entries


_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def expand(command: str, env: dict[str, str]) -> list[str]:
    """Split a Procfile command and substitute ``$VAR``/``${VAR}`` from ``env`` as a shell would."""

    def substitute(match: re.Match[str]) -> str:
        return env.get(match["braced"] or match["plain"], "")

    return [_VAR.sub(substitute, part) for part in shlex.split(command)]


def worker_queues(path: Path = PROCFILE) -> set[str]:
    """The queues the Procfile's worker consumes (its ``-Q`` list)."""
    argv = shlex.split(read_procfile(path)["worker"])
    for index, arg in enumerate(argv):
        if arg in ("-Q", "--queues"):
            return set(argv[index + 1].split(","))
        if arg.startswith("--queues="):
            return set(arg.split("=", 1)[1].split(","))
    return {"celery"}
