"""Start real Vigia processes in tests, read their JSON log lines, and stop them for sure.

Waiting is always for a condition (a log line, a port, a row), never a fixed sleep: ``wait_for``
polls until the condition holds or its deadline passes, and then fails with what it saw.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float, interval: float = 0.1, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as error:  # the thing being waited for may not exist yet
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f": {last_error}" if last_error else ""))


class ManagedProcess:
    """A child process whose stdout lines are collected as they arrive."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> None:
        self.name = name
        self.argv = argv
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def json_lines(self) -> list[dict[str, Any]]:
        records = []
        with self._lock:
            lines = list(self.lines)
        for line in lines:
            line = line.split("| ", 1)[1] if line[:1].isalpha() and "| {" in line[:20] else line
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
        return records

    def wait_for_line(self, needle: str, timeout: float = 60.0) -> str:
        def found() -> str | None:
            with self._lock:
                for line in self.lines:
                    if needle in line:
                        return line
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before printing {needle!r}:\n{self.output[-3000:]}")
            return None

        try:
            return wait_for(found, timeout=timeout, what=f"{self.name} to print {needle!r}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- {self.name} output ---\n{self.output[-3000:]}") from None

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM the whole process group, then SIGKILL what is left; return the exit code."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        code = self.proc.wait(10)
        self._reader.join(5)
        return code

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def venv_bin(name: str) -> str:
    import sys

    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name
