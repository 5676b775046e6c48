"""Evaluate ``.railway/railway.ts`` with the official ``railway`` npm package, for the deploy tests.

The package (pinned in ``.railway/package.json`` and its lock) is installed with ``npm ci`` into
``.railway/node_modules`` the first time it is missing, from the npm registry alone, as ``make
install`` does; ``node`` and ``npm`` must be on PATH. The file is then evaluated as the Railway
CLI evaluates it (``railway_eval.mjs``: its default export called with the package's context and
``project``), type-checked with ``tsc`` against the package's own type definitions, and returned
as the RailwayGraph (resources and variable edges) plus the package's ``validateGraph`` errors.
The CLI itself runs the file with Node 22's type stripping; here ``tsx`` (a dependency of the
package) loads it, so Node 20 suffices, and ``tsc`` checks the types the stripping ignores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.processes import REPO_ROOT

RAILWAY_DIR = REPO_ROOT / ".railway"
IAC_FILE = RAILWAY_DIR / "railway.ts"
EVALUATOR = Path(__file__).with_name("railway_eval.mjs")


class NodeMissing(RuntimeError):
    pass


def _node_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIA_GITHUB_", "PYTEST_"))}
    env.update(extra)
    return env


def ensure_installed() -> None:
    """``npm ci`` into .railway/ unless the installed tree already matches the lock file."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise NodeMissing("node and npm are needed to evaluate .railway/railway.ts (apt-get install nodejs npm)")
    installed = RAILWAY_DIR / "node_modules" / ".package-lock.json"
    lock = RAILWAY_DIR / "package-lock.json"
    if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    result = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=RAILWAY_DIR,
                            env=_node_env(), capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"npm ci in .railway failed:\n{result.stdout}\n{result.stderr}")


def evaluate(file: Path = IAC_FILE, *, environment: str = "production", cwd: Path = REPO_ROOT,
             **env: str) -> dict[str, Any]:
    """``{"graph": RailwayGraph, "errors": [...], "partial": ...}`` for ``file``; ``env`` adds variables."""
    ensure_installed()
    tsx = RAILWAY_DIR / "node_modules" / "tsx" / "dist" / "loader.mjs"
    result = subprocess.run(["node", "--import", tsx.as_uri(), str(EVALUATOR), str(file), environment],
                            cwd=cwd, env=_node_env(**env), capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise AssertionError(f"evaluating {file} failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)


def typecheck() -> subprocess.CompletedProcess[str]:
    ensure_installed()
    return subprocess.run([str(RAILWAY_DIR / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.json"],
                          cwd=RAILWAY_DIR, env=_node_env(), capture_output=True, text=True, timeout=300,
                          check=False)


def services(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in result["graph"]["resources"] if r["type"] == "service"}
