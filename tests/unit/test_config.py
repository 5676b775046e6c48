"""Settings: every variable documented, production refuses to start without what it needs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from pydantic import ValidationError

from shared.config import Settings
from tests.support.processes import REPO_ROOT

EXAMPLE = REPO_ROOT / ".env.example"


def _example_names() -> list[str]:
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(), flags=re.MULTILINE)


def test_it_lists_every_setting_in_env_example_and_nothing_else() -> None:
    names = _example_names()
    assert len(names) == len(set(names)), "a variable appears twice in .env.example"
    assert set(names) == {name.upper() for name in Settings.model_fields}


def test_it_comments_every_variable_in_env_example() -> None:
    lines = EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            above = lines[index - 1]
            assert above.startswith("#") or re.match(r"^[A-Z][A-Z0-9_]*=", above), f"{line} has no comment"


def test_it_keeps_the_docs_environment_table_generated_from_env_example() -> None:
    from services.dev.envdoc import BEGIN, END, env_table

    readme = (REPO_ROOT / "docs" / "configuration.md").read_text()
    current = readme[readme.index(BEGIN) + len(BEGIN) : readme.index(END)].strip()
    assert current == env_table(EXAMPLE.read_text()), "run: python -m services.dev.envdoc --write"
    missing = [name for name in _example_names() if f"`{name}`" not in current]
    assert not missing


def test_it_keeps_secrets_secret() -> None:
    settings = Settings(groq_api_key="gsk_realLookingSecret123456", database_url="postgres://u:pw-long-enough@h/db")
    assert "gsk_realLookingSecret123456" not in repr(settings)
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql://u:pw-long-enough@h/db"  # pragma: allowlist secret
    assert "pw-long-enough" in settings.secret_values()


def test_it_has_working_defaults_in_development() -> None:
    settings = Settings(_env_file=None)
    for process in ("web", "worker", "beat", "flower", "release"):
        assert settings.problems_for(process) == []


def test_it_names_every_missing_variable_in_production() -> None:
    settings = Settings(_env_file=None, environment="production")
    problems = " ".join(settings.problems_for("worker"))
    for name in ("REDIS_URL", "DATABASE_URL", "TRANSPARENCY_API_KEY"):
        assert name in problems
    assert "FLOWER_PASSWORD" in " ".join(settings.problems_for("flower"))
    assert "API_KEYS" in " ".join(settings.problems_for("web"))


def test_it_refuses_placeholder_secrets_in_production() -> None:
    settings = Settings(
        _env_file=None, environment="production", redis_url="redis://r:6379/0",
        database_url="postgresql://h/db", transparency_api_key="changeme",  # pragma: allowlist secret
    )
    assert any("TRANSPARENCY_API_KEY" in p for p in settings.problems_for("worker"))


def test_it_reports_invalid_values_by_name() -> None:
    env = {"PATH": os.environ["PATH"], "VIGIA_ENV_FILE": "", "WORKER_CONCURRENCY": "lots"}
    code = "from shared.config import require; require('worker')"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 2
    assert "WORKER_CONCURRENCY is invalid" in result.stdout


@pytest.mark.parametrize(
    ("process", "entry", "expected"),
    [
        ("worker", "worker", ["REDIS_URL", "DATABASE_URL", "TRANSPARENCY_API_KEY"]),
        ("beat", "beat", ["REDIS_URL"]),
        ("flower", "flower", ["REDIS_URL", "FLOWER_PASSWORD"]),
        ("web", "web", ["REDIS_URL", "DATABASE_URL", "API_KEYS"]),
        ("release", "release", ["DATABASE_URL"]),
    ],
)
def test_it_exits_with_one_readable_message_in_an_empty_production_environment(
    process: str, entry: str, expected: list[str]
) -> None:
    """The Procfile's own commands, as a platform runs them, with nothing configured."""
    from tests.support.processes import procfile_argv

    env = {"PATH": os.environ["PATH"], "ENVIRONMENT": "production", "VIGIA_ENV_FILE": "", "PORT": "5999"}
    argv = procfile_argv(entry, env)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    record = json.loads(lines[0])
    assert record["level"] == "CRITICAL"
    assert record["message"].startswith(f"vigia {process} cannot start")
    for name in expected:
        assert name in record["message"]


def test_it_lets_the_web_run_without_redis_when_celery_workers_are_off() -> None:
    settings = Settings(
        _env_file=None, environment="production", enable_celery_workers=False,
        database_url="postgresql://h/db", api_keys="k-1234567890abcdef", transparency_api_key="portal-key-1",  # pragma: allowlist secret
    )
    assert settings.problems_for("web") == []
    # It investigates on demand itself, so it needs the Portal key a worker would.
    keyless = settings.model_copy(update={"transparency_api_key": None})
    assert [p.split(" ")[0] for p in keyless.problems_for("web")] == ["TRANSPARENCY_API_KEY"]
    assert any("REDIS_URL" in p for p in settings.model_copy(update={"enable_celery_workers": True}).problems_for("web"))


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize("process", ["worker", "beat", "flower"])
def test_it_refuses_celery_processes_when_celery_workers_are_off(environment: str, process: str) -> None:
    settings = Settings(_env_file=None, environment=environment, enable_celery_workers=False)
    problems = settings.problems_for(process)  # type: ignore[arg-type]
    assert len(problems) == 1
    assert "ENABLE_CELERY_WORKERS is false" in problems[0]


@pytest.mark.parametrize("entry", ["worker", "beat"])
def test_it_stops_the_procfile_celery_commands_when_celery_workers_are_off(entry: str) -> None:
    from tests.support.processes import procfile_argv

    env = {"PATH": os.environ["PATH"], "VIGIA_ENV_FILE": "", "ENABLE_CELERY_WORKERS": "false"}
    argv = procfile_argv(entry, env)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 2
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["message"].startswith(f"vigia {entry} cannot start: ENABLE_CELERY_WORKERS is false")


def test_it_runs_with_production_checks_when_environment_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    settings = Settings(_env_file=None)
    assert settings.environment == "production" and settings.is_production
    assert any("API_KEYS is missing" in p for p in settings.problems_for("web"))


@pytest.mark.parametrize(
    ("keys", "read_keys", "expected"),
    [
        ("changeme", "", "API_KEYS holds a weak key (key 1 of 1: 8 characters, a placeholder)"),
        ("a-good-long-write-key-0001,short", "", "API_KEYS holds a weak key (key 2 of 2: 5 characters)"),
        ("a-good-long-write-key-0001", "tiny", "API_READ_KEYS holds a weak key (key 1 of 1: 4 characters)"),
        ("a-good-long-write-key-0001", "a-good-long-write-key-0001", "API_READ_KEYS repeats a key of API_KEYS"),
    ],
)
def test_it_refuses_weak_or_shared_api_keys_in_production(keys: str, read_keys: str, expected: str) -> None:
    settings = Settings(
        _env_file=None, environment="production", redis_url="redis://r:6379/0", database_url="postgresql://h/db",
        api_keys=keys, api_read_keys=read_keys,
    )
    problems = settings.problems_for("web")
    assert any(p.startswith(expected) for p in problems), problems
    assert not any("changeme" in p or "short" in p.split("(")[0] for p in problems)  # keys are never quoted
    development = settings.model_copy(update={"environment": "development"})
    assert development.problems_for("web") == []


def test_it_refuses_a_malformed_rate_limit_by_name() -> None:
    with pytest.raises(ValidationError, match="api_rate_limit_reads"):
        Settings(_env_file=None, api_rate_limit_reads="lots")


def test_it_reads_the_environment_once_until_the_accessor_s_cache_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import get_settings, override_settings

    get_settings.cache_clear()
    first = get_settings()
    monkeypatch.setenv("MONITOR_LOOKBACK_HOURS", str(first.monitor_lookback_hours + 5))
    try:
        assert get_settings() is first  # cached: a changed environment is not read yet
        with override_settings(priority_lookback_hours=2) as overridden:
            assert get_settings() is overridden and overridden.priority_lookback_hours == 2
        get_settings.cache_clear()
        assert get_settings().monitor_lookback_hours == first.monitor_lookback_hours + 5
    finally:
        monkeypatch.delenv("MONITOR_LOOKBACK_HOURS")
        get_settings.cache_clear()
    assert get_settings().monitor_lookback_hours == first.monitor_lookback_hours
