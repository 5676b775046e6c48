"""The Dockerfile and the workers-only Compose file, checked by reading them.

No Docker engine runs on the machines these tests run on, so nothing here builds the image or
starts a container: the tests parse the files and hold them to what the platforms need (a slim
base, a non-root user, the API as the default command on Hugging Face's port, Redis with AOF).
The commands themselves are the Procfile's (see test_parity.py) and are exercised for real by the
boot test, from the same lock file the image installs.
"""

from __future__ import annotations

import json
import re
import shlex

from tests.deploy.manifests import COMPOSE, DOCKERFILE, load_compose, procfile
from tests.support.processes import REPO_ROOT


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_it_builds_on_a_slim_python_311_image() -> None:
    bases = [rest.split()[0] for keyword, rest in _instructions() if keyword == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.11-slim(-[a-z]+)?", base) for base in bases), bases


def test_it_runs_as_a_non_root_user_with_uid_1000() -> None:
    final = _final_stage()
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the final stage must drop root"
    assert any(keyword == "RUN" and "useradd" in rest and "--uid 1000" in rest for keyword, rest in final)


def test_it_serves_the_procfile_web_command_on_hugging_face_port_7860_by_default() -> None:
    final = _final_stage()
    (cmd,) = [rest for keyword, rest in final if keyword == "CMD"]
    assert json.loads(cmd) == shlex.split(procfile()["web"])  # exec form: signals reach gunicorn
    assert ("EXPOSE", "7860") in final
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert "PORT=7860" in env and "ENVIRONMENT=production" in env


def test_it_installs_from_the_lock_file_editable() -> None:
    runs = " ".join(rest for keyword, rest in _instructions() if keyword == "RUN")
    assert "-r requirements.lock" in runs
    assert "-e ." in runs, "migrations are found beside the code only with an editable install"


def test_it_keeps_secrets_and_local_state_out_of_the_image() -> None:
    ignored = {line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()}
    for entry in (".env", ".venv", ".vigia", ".git", "tests"):
        assert entry in ignored
    assert "!.env.example" in ignored


def test_it_runs_redis_with_an_append_only_file_and_no_eviction() -> None:
    redis = load_compose()["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "healthcheck" in redis


def test_it_keeps_flower_under_the_monitoring_profile_and_the_workers_always_on() -> None:
    services = load_compose()["services"]
    assert services["flower"]["profiles"] == ["monitoring"]
    assert services["web"]["profiles"] == ["api"]
    for name in ("worker", "beat", "redis", "release"):
        assert "profiles" not in services[name], f"{name} must start with a plain `up`"
    for name in ("worker", "beat"):
        assert services[name]["restart"] == "unless-stopped"
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_it_migrates_before_the_worker_starts_and_lets_running_tasks_requeue() -> None:
    services = load_compose()["services"]
    assert services["release"]["restart"] == "no"
    assert services["worker"]["depends_on"]["release"] == {"condition": "service_completed_successfully"}
    assert services["worker"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    grace = int(services["worker"]["stop_grace_period"].rstrip("s"))
    assert grace >= 20 + 10  # WORKER_SOFT_SHUTDOWN_TIMEOUT plus the requeue


def test_it_reads_the_environment_from_dot_env_and_runs_in_production() -> None:
    services = load_compose()["services"]
    for name in ("release", "worker", "beat", "flower", "web"):
        assert services[name]["env_file"] == ".env"
        assert services[name]["environment"]["ENVIRONMENT"] == "production"
        assert services[name]["build"] == "."
    assert "${" not in COMPOSE.read_text(), "no host variables: everything comes from .env"
