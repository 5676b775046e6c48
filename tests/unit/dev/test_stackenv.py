"""`.vigia/env`: read by a second terminal only while the `vigia dev` that wrote it is alive."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.dev import stackenv


@pytest.fixture
def dev_like() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose command line reads as `vigia dev` (as the real one's does)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "vigia", "dev"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


STACK = {"ENVIRONMENT": "development", "REDIS_URL": "redis://127.0.0.1:6380/0",
         "DATABASE_URL": "postgresql://postgres@127.0.0.1:5433/vigia", "PATH": "/not/shared"}


def test_it_applies_a_live_stacks_variables(tmp_path: Path, dev_like: subprocess.Popen[bytes]) -> None:
    stackenv.write(tmp_path, STACK, pid=dev_like.pid)
    environ: dict[str, str] = {}
    found = stackenv.apply(environ, tmp_path)
    assert found is not None and found.pid == dev_like.pid
    assert environ == {k: v for k, v in STACK.items() if k != "PATH"}


def test_it_never_replaces_what_the_environment_sets(tmp_path: Path, dev_like: subprocess.Popen[bytes]) -> None:
    stackenv.write(tmp_path, STACK, pid=dev_like.pid)
    environ = {"REDIS_URL": "redis://elsewhere:6379/0"}
    stackenv.apply(environ, tmp_path)
    assert environ["REDIS_URL"] == "redis://elsewhere:6379/0" and environ["DATABASE_URL"] == STACK["DATABASE_URL"]


def test_it_ignores_the_file_of_a_stack_that_is_gone(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass", "vigia", "dev"])
    gone.wait()
    stackenv.write(tmp_path, STACK, pid=gone.pid)
    environ: dict[str, str] = {}
    assert stackenv.apply(environ, tmp_path) is None and environ == {}


def test_it_ignores_a_pid_that_another_program_took(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stackenv.write(tmp_path, STACK, pid=other.pid)
        assert stackenv.apply({}, tmp_path) is None
    finally:
        other.kill()
        other.wait()


def test_it_writes_a_file_a_shell_can_source(tmp_path: Path) -> None:
    path = stackenv.write(tmp_path, {**STACK, "DATABASE_URL": "postgresql://u:p w@h/db"}, pid=1)
    out = subprocess.run(["sh", "-c", f'set -a; . "{path}"; printf %s "$DATABASE_URL"'], capture_output=True,
                         text=True, check=True)
    assert out.stdout == "postgresql://u:p w@h/db"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
