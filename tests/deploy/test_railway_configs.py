"""railway.json and railway/*.json: Config as Code fields only, one file per service, safe shutdowns.

Railway reads these files no more (Config as Code's hard cutoff was 2026-12-01); .railway/railway.ts
configures Railway now (tests/deploy/test_railway_iac.py) and these stay equal to it, for projects
whose services still point at them and `railway config migrate`.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import Settings
from tests.deploy.manifests import RAILWAY_FILES, railway_configs
from tests.deploy.platform_schemas import RAILWAY_SCHEMA_URL, railway_errors
from tests.support.processes import REPO_ROOT


@pytest.mark.parametrize("process", sorted(RAILWAY_FILES))
def test_it_uses_only_config_as_code_fields(process: str) -> None:
    config = railway_configs()[process]
    assert railway_errors(config, where=RAILWAY_FILES[process].name) == []
    assert config["$schema"] == RAILWAY_SCHEMA_URL


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"$schema": RAILWAY_SCHEMA_URL, "build": {"builder": "NIXPACKS"}}, "NIXPACKS is deprecated"),
        ({"$schema": RAILWAY_SCHEMA_URL, "build": {"nixpacksPlan": {}}}, "deprecated Nixpacks builder"),
        ({"$schema": RAILWAY_SCHEMA_URL, "deploy": {"drainingSeconds": "60"}}, "must be a number"),
        ({"$schema": RAILWAY_SCHEMA_URL, "deploy": {"preDeployCommand": "vigia migrate"}}, "array of commands"),
        ({"$schema": RAILWAY_SCHEMA_URL, "deploy": {"restartPolicy": "ALWAYS"}}, "not a deploy setting"),
        ({"$schema": RAILWAY_SCHEMA_URL, "deploy": {"restartPolicyType": "SOMETIMES"}}, "must be one of"),
        ({"$schema": "https://railway.app/railway.schema.json"}, "$schema must be"),
        ({"$schema": RAILWAY_SCHEMA_URL, "variables": {"A": "b"}}, "unknown key variables"),
    ],
)
def test_it_rejects_unknown_and_deprecated_railway_fields(document: dict[str, Any], expected: str) -> None:
    errors = railway_errors(document)
    assert any(expected in error for error in errors), errors


def test_it_builds_every_service_from_the_repository_dockerfile() -> None:
    # Railway builds with a Dockerfile whenever the repository has one, so say so explicitly.
    for config in railway_configs().values():
        assert config["build"]["builder"] == "DOCKERFILE"
        assert (REPO_ROOT / config["build"]["dockerfilePath"]).is_file()


def test_it_drains_each_service_longer_than_its_shutdown_takes() -> None:
    configs = railway_configs()
    soft_shutdown = Settings.model_fields["worker_soft_shutdown_timeout"].default
    assert configs["worker"]["deploy"]["drainingSeconds"] >= soft_shutdown + 10
    from services.api import gunicorn_conf

    assert configs["web"]["deploy"]["drainingSeconds"] > gunicorn_conf.graceful_timeout
    for process, config in configs.items():
        assert config["deploy"]["drainingSeconds"] > 0, f"{process}: Railway's default drain is 0 s"


def test_it_health_checks_the_http_services_and_restarts_the_workers_always() -> None:
    configs = railway_configs()
    assert configs["web"]["deploy"]["healthcheckPath"] == "/health"
    assert configs["flower"]["deploy"]["healthcheckPath"] == "/healthcheck"
    for process in ("worker", "beat"):
        assert "healthcheckPath" not in configs[process]["deploy"]
        assert configs[process]["deploy"]["restartPolicyType"] == "ALWAYS"


def test_it_documents_the_railway_walkthrough() -> None:
    readme = (REPO_ROOT / "docs" / "deploy.md").read_text()
    for needle in ("${{Redis.REDIS_URL}}", ".railway/railway.ts", "railway config plan", "railway config apply",
                   "Shared Variables", "Deploy on Railway", "2026-12-01", "railway config migrate"):
        assert needle in readme, f"docs/deploy.md's Railway section lacks {needle}"
