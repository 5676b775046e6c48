""".railway/railway.ts, evaluated with the official `railway` package, against the Procfile and the JSON configs.

Railway's Infrastructure as Code replaces Config as Code (docs.railway.com/infrastructure-as-code):
the CLI evaluates this file and applies its services' settings. The file must describe a Redis and
the four long-running Procfile processes with the Procfile's commands, the release before the
deploys that need the schema, health checks, one beat, drains above each process's shutdown, and
secrets only as references; and say the same as railway.json and railway/*.json.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from services.api import gunicorn_conf
from shared.config import Settings
from tests.deploy.manifests import RAILWAY_FILES, is_wrapped, procfile, railway_configs, unwrap, words
from tests.deploy.railway_iac import evaluate, services, typecheck

LONG_RUNNING = ["web", "worker", "beat", "flower"]
# Values that must never be written in the file (REDIS_URL is Redis's, by reference).
SECRETS = {name.upper() for name, f in Settings.model_fields.items()
           if "SecretStr" in str(f.annotation)} | {"API_KEYS", "SUPABASE_URL"}


@pytest.fixture(scope="module")
def iac() -> dict[str, Any]:
    return evaluate()


def test_it_evaluates_to_a_graph_the_railway_package_accepts(iac: dict[str, Any]) -> None:
    assert iac["errors"] == []
    assert iac["graph"]["project"] == {"name": "vigia"}
    kinds = {r["name"]: (r["type"], r.get("engine")) for r in iac["graph"]["resources"]}
    assert kinds == {"Redis": ("database", "redis"), "web": ("service", None), "worker": ("service", None),
                     "beat": ("service", None), "flower": ("service", None)}


def test_it_type_checks_against_the_packages_own_definitions() -> None:
    result = typecheck()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("process", LONG_RUNNING)
def test_it_starts_each_service_with_the_procfile_command(iac: dict[str, Any], process: str) -> None:
    command = services(iac)[process]["deploy"]["startCommand"]
    assert words(unwrap(command)) == words(procfile()[process])
    assert is_wrapped(command) == ("$" in procfile()[process])


def test_it_runs_the_release_before_the_deploys_that_need_the_schema(iac: dict[str, Any]) -> None:
    found = {name: s["deploy"].get("preDeployCommand") for name, s in services(iac).items()}
    assert found == {"web": [procfile()["release"]], "worker": [procfile()["release"]], "beat": None, "flower": None}


def test_it_runs_one_beat_health_checks_the_http_services_and_drains_longer_than_shutdown(
        iac: dict[str, Any]) -> None:
    deploy = {name: s["deploy"] for name, s in services(iac).items()}
    assert deploy["beat"]["numReplicas"] == 1
    assert (deploy["web"]["healthcheckPath"], deploy["flower"]["healthcheckPath"]) == ("/health", "/healthcheck")
    assert "healthcheckPath" not in deploy["worker"] and "healthcheckPath" not in deploy["beat"]
    soft_shutdown = Settings.model_fields["worker_soft_shutdown_timeout"].default
    assert deploy["worker"]["drainingSeconds"] >= soft_shutdown + 10
    assert deploy["web"]["drainingSeconds"] > gunicorn_conf.graceful_timeout
    assert all(d["drainingSeconds"] > 0 for d in deploy.values()), "Railway's default drain is 0 s"
    assert {d["restartPolicyType"] for n, d in deploy.items() if n in ("worker", "beat")} == {"ALWAYS"}


def test_it_builds_every_service_from_the_dockerfile(iac: dict[str, Any]) -> None:
    for service in services(iac).values():
        assert service["build"] == {"builder": "DOCKERFILE", "dockerfilePath": "Dockerfile"}


def test_it_wires_redis_by_reference_and_secrets_only_as_shared_variables(iac: dict[str, Any]) -> None:
    edges = {(e["from"], e["to"], e["key"]) for e in iac["graph"]["edges"]}
    assert edges == {(f"service.{p}", "database.Redis", "REDIS_URL") for p in LONG_RUNNING}
    settings = {name.upper() for name in Settings.model_fields}
    for name, service in services(iac).items():
        for key, value in service["variables"].items():
            assert key in settings, f"{name}: {key} is not a Vigia setting"
            if key in SECRETS - {"REDIS_URL"}:
                assert value == {"type": "sharedReference", "name": key}, f"{name}: {key} must be ${{{{shared.{key}}}}}"
            assert value["type"] in ("literal", "reference", "sharedReference"), (name, key, value)


@pytest.mark.parametrize("process", LONG_RUNNING)
def test_it_gives_each_process_what_it_needs_to_start_in_production(iac: dict[str, Any], process: str) -> None:
    """Shared variables filled as a user would (the database as DATABASE_URL), literals as written."""
    given = {"DATABASE_URL": "postgresql://db/vigia",
             "TRANSPARENCY_API_KEY": "portal-key",  # pragma: allowlist secret
             "API_KEYS": "k" * 32, "FLOWER_PASSWORD": "p" * 24}
    values: dict[str, Any] = {}
    for key, value in services(iac)[process]["variables"].items():
        if value["type"] == "literal":
            values[key.lower()] = value["value"]
        elif value["type"] == "reference":
            values[key.lower()] = "redis://default:x@redis.railway.internal:6379"
        elif key in given:
            values[key.lower()] = given[key]
    settings = Settings(_env_file=None, **values)
    assert settings.is_production
    assert settings.problems_for(process) == [], f"{process} cannot start"  # type: ignore[arg-type]
    if process in ("web", "worker"):
        assert settings.problems_for("release") == []


@pytest.mark.parametrize("process", LONG_RUNNING)
def test_it_says_what_the_config_as_code_files_say(iac: dict[str, Any], process: str) -> None:
    """railway.json and railway/*.json, kept for services created before Config as Code's cutoff."""
    deploy = services(iac)[process]["deploy"]
    legacy = railway_configs()[process]
    assert {k: v for k, v in deploy.items() if k != "numReplicas"} == legacy["deploy"], RAILWAY_FILES[process]
    assert services(iac)[process]["build"] == legacy["build"]


def test_it_deploys_the_fork_it_is_applied_from(tmp_path: Path) -> None:
    # A checkout of a fork: the services take their source from its GitHub origin, with no edit.
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:someone/vigia.git"],
                   check=True)
    from_origin = services(evaluate(cwd=tmp_path))
    assert {s["source"]["repo"] for s in from_origin.values()} == {"someone/vigia"}
    assert {s["kind"] for s in from_origin.values()} == {"github"}
    named = services(evaluate(cwd=tmp_path, VIGIA_GITHUB_REPO="other/vigia", VIGIA_GITHUB_BRANCH="prod"))
    assert {(s["source"]["repo"], s["source"]["branch"]) for s in named.values()} == {("other/vigia", "prod")}
    # Not on GitHub: no source, and `railway up` deploys the directory.
    subprocess.run(["git", "-C", str(tmp_path), "remote", "set-url", "origin", "/srv/git/vigia.git"], check=True)
    assert all("source" not in s for s in services(evaluate(cwd=tmp_path)).values())
