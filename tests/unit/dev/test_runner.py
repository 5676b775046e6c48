"""What `vigia dev` decides from the settings its children will read (environment and .env alike)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from services.dev.runner import LOCAL_HOST, DevOptions, DevStack
from shared.config import Settings

FAKE_KEY = "abcdef0123456789abcdef0123456789"  # pragma: allowlist secret
# A .env naming a key, Redis and a database: `vigia dev` starts no server of its own for it.
CONFIGURED = (f"TRANSPARENCY_API_KEY={FAKE_KEY}\n"
              "REDIS_URL=redis://127.0.0.1:1/0\nDATABASE_URL=postgresql://u@127.0.0.1:1/db\n")


def _stack(tmp_path: Path, dotenv: str, environ: dict[str, str] | None = None) -> DevStack:
    env_file = tmp_path / ".env"
    env_file.write_text(dotenv)
    environ = {"PATH": "/usr/bin", **(environ or {})}
    settings = Settings(_env_file=env_file)
    return DevStack(DevOptions(data_dir=tmp_path / "data"), environ=environ, settings=settings, out=io.StringIO())


def test_it_uses_the_real_portal_when_dotenv_holds_a_key(tmp_path: Path) -> None:
    stack = _stack(tmp_path, CONFIGURED)
    assert not stack.wants_simulator
    env = stack.start_servers()  # nothing to start: Redis and the database are configured
    assert stack.children == [] and stack.redis is None and stack.postgres is None
    assert "TRANSPARENCY_API_URL" not in env and "PORTAL_RATE_DAY_PER_MIN" not in env
    portal = next(line for line in stack.banner(env) if line.strip().startswith("Portal"))
    assert "api.portaldatransparencia.gov.br" in portal and "the real Portal" in portal


def test_it_wants_the_simulator_without_a_key(tmp_path: Path) -> None:
    assert _stack(tmp_path, "").wants_simulator


def test_it_tells_children_development_and_console_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    # A .env copied from .env.example spells out LOG_FORMAT=json: no request for JSON at a terminal.
    stack = _stack(tmp_path, CONFIGURED + "LOG_FORMAT=json\nENVIRONMENT=test\n")
    env = stack.start_servers()
    assert env["ENVIRONMENT"] == "development" and env["LOG_FORMAT"] == "console"


def test_it_keeps_json_logs_when_asked(tmp_path: Path) -> None:
    stack = _stack(tmp_path, CONFIGURED, {"LOG_FORMAT": "json"})
    assert stack.start_servers()["LOG_FORMAT"] == "json"


def test_it_binds_web_and_flower_to_this_machine_only(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "")
    env = {"PORT": "8123"}
    web = stack.command_for("web", env)
    assert web[-2:] == ["--bind", f"{LOCAL_HOST}:{stack.options.web_port}"]
    flower = stack.command_for("flower", env)
    assert f"--address={LOCAL_HOST}" in flower and "--address=0.0.0.0" not in flower


def test_it_colours_only_on_a_terminal(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "")
    stack.say("12:00:00 WARNING vigia: careful", "worker")
    assert isinstance(stack.out, io.StringIO)
    assert "\033[" not in stack.out.getvalue() and stack.out.getvalue().startswith("worker   | ")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    coloured = DevStack(DevOptions(), environ={}, settings=Settings(_env_file=None), out=Tty())
    coloured.say("12:00:00 WARNING vigia: careful", "worker")
    assert "\033[" in coloured.out.getvalue()  # type: ignore[attr-defined]
