"""render.yaml: current Blueprint fields only, every variable declared, secrets asked for, a safe broker."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from services.api import gunicorn_conf
from shared.config import Settings
from tests.deploy.manifests import (
    RENDER_SERVICES,
    env_example_names,
    load_render,
    render_env_keys,
    render_services,
)
from tests.deploy.platform_schemas import blueprint_errors

# Secrets: every SecretStr setting, the API keys, and the Supabase URL (which names the project).
SECRETS = {name.upper() for name, f in Settings.model_fields.items() if f.annotation in (SecretStr, SecretStr | None)}
SECRETS |= {"API_KEYS", "SUPABASE_URL"}
# Not secret, but with no sensible default for someone else's deployment: asked at creation too.
ASKED = {"WATCHED_ORGAOS", "PRIORITY_ORGAOS", "CORS_ORIGINS", "PUBLIC_API_URL", "PUBLIC_FLOWER_URL"}


def test_it_uses_only_current_blueprint_fields() -> None:
    assert blueprint_errors(load_render()) == []


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ({"services": [{"type": "redis", "name": "r", "ipAllowList": []}]}, "type redis is deprecated"),
        ({"services": [{"type": "web", "name": "w", "env": "python", "startCommand": "x"}]}, "env is deprecated"),
        ({"services": [{"type": "web", "name": "w", "runtime": "python", "startCommand": "x", "autoDeploy": True}]},
         "autoDeploy is deprecated"),
        ({"services": [{"type": "worker", "name": "w", "runtime": "python", "startCommand": "x",
                        "healthCheckPath": "/"}]}, "healthCheckPath is not a field of a worker"),
        ({"services": [{"type": "keyvalue", "name": "k"}]}, "needs ipAllowList"),
        ({"services": [{"type": "worker", "name": "w", "runtime": "python", "startCommand": "x", "plan": "free"}]},
         "only web services may be free"),
        ({"services": [{"type": "web", "name": "w", "runtime": "python", "startCommand": "x",
                        "maxShutdownDelaySeconds": 301}]}, "from 1 to 300"),
        ({"envVarGroups": [{"name": "g", "envVars": [{"key": "A", "sync": False}]}]}, "groups hold only"),
        ({"services": [{"type": "web", "name": "w", "runtime": "python", "startCommand": "x",
                        "envVars": [{"key": "R", "fromService": {"type": "redis", "name": "k",
                                                                 "property": "connectionString"}}]}]},
         "type redis is deprecated"),
        ({"services": [{"type": "web", "name": "w", "runtime": "python", "startCommand": "x", "colour": "red"}]},
         "colour is not a field"),
    ],
)
def test_it_rejects_unknown_and_deprecated_blueprint_fields(fragment: dict[str, Any], expected: str) -> None:
    errors = blueprint_errors(fragment)
    assert any(expected in error for error in errors), errors


def test_it_runs_a_noeviction_key_value_reachable_only_inside_render() -> None:
    (redis,) = [s for s in load_render()["services"] if s["type"] == "keyvalue"]
    assert redis["maxmemoryPolicy"] == "noeviction"
    assert redis["ipAllowList"] == []
    assert redis["plan"] != "free", "free Key Value keeps nothing across restarts: queued tasks would vanish"


@pytest.mark.parametrize("process", ["web", "worker", "beat", "flower"])
def test_it_wires_redis_url_to_every_process_from_the_key_value(process: str) -> None:
    declared = render_env_keys(render_services()[RENDER_SERVICES[process]])
    assert declared["REDIS_URL"]["fromService"] == {
        "type": "keyvalue", "name": "vigia-redis", "property": "connectionString"}


def test_it_declares_every_variable_vigia_reads() -> None:
    declared: set[str] = set()
    for service in render_services().values():
        declared |= set(render_env_keys(service))
    missing = sorted(set(env_example_names()) - declared)
    assert not missing, f"render.yaml declares none of {missing}: add them to the vigia-settings group " \
                        "(plain values) or to the services that read them (secrets, sync: false)"


def test_it_never_writes_a_secret_into_the_blueprint() -> None:
    for service in render_services().values():
        for key, item in render_env_keys(service).items():
            if key in SECRETS:
                assert set(item) & {"sync", "generateValue", "fromService", "fromDatabase"}, \
                    f"{service['name']}: {key} is a secret; declare it sync: false"
            if item.get("sync") is False:
                assert key in SECRETS | ASKED, f"{service['name']}: {key} is sync: false but not a secret"


def test_it_asks_for_each_secret_once_and_hands_it_to_the_services_that_read_it() -> None:
    services = render_services()
    asked = [(s["name"], i["key"]) for s in services.values() for i in s.get("envVars", []) if i.get("sync") is False]
    keys = [key for _, key in asked]
    assert len(keys) == len(set(keys)), f"asked more than once: {sorted(k for k in keys if keys.count(k) > 1)}"
    # 17 prompts before, when the database, Sentry and órgão lists were asked per service; 9 once
    # each was asked on the worker alone; 13 with the alert webhook, heartbeat and the two links
    # an alert carries.
    assert len(asked) == 13, asked
    worker = render_env_keys(services["vigia-worker"])
    for name in ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "DATABASE_URL", "GROQ_API_KEY",
                 "TRANSPARENCY_API_KEY", "SENTRY_DSN", "WATCHED_ORGAOS", "PRIORITY_ORGAOS"):
        assert worker[name] == {"key": name, "sync": False}
    shared = {"vigia-api": ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "DATABASE_URL", "SENTRY_DSN"),
              "vigia-beat": ("SENTRY_DSN", "WATCHED_ORGAOS", "PRIORITY_ORGAOS"),
              "vigia-flower": ("SENTRY_DSN",)}
    for service, names in shared.items():
        for name in names:
            assert render_env_keys(services[service])[name]["fromService"] == {
                "type": "worker", "name": "vigia-worker", "envVarKey": name}, (service, name)


def test_it_rejects_a_reference_to_a_variable_the_service_does_not_declare() -> None:
    document = {"services": [
        {"type": "worker", "name": "a", "runtime": "python", "startCommand": "x", "envVars": [{"key": "K", "sync": False}]},
        {"type": "worker", "name": "b", "runtime": "python", "startCommand": "x",
         "envVars": [{"key": "L", "fromService": {"type": "worker", "name": "a", "envVarKey": "L"}}]},
    ]}
    assert any("envVarKey 'L' is not declared" in e for e in blueprint_errors(document))


def test_it_keeps_shared_plain_values_in_one_group() -> None:
    services = render_services()
    for service in services.values():
        if service["type"] != "keyvalue":
            assert {"fromGroup": "vigia-settings"} in service["envVars"], service["name"]
            own_values = [i["key"] for i in service["envVars"] if "value" in i]
            assert set(own_values) <= {"FLOWER_USER"}, f"{service['name']}: plain values belong in the group"


def test_it_builds_flower_basic_auth_from_a_fixed_user_and_a_generated_password() -> None:
    flower = render_env_keys(render_services()["vigia-flower"])
    assert flower["FLOWER_USER"] == {"key": "FLOWER_USER", "value": "vigia"}
    assert flower["FLOWER_PASSWORD"] == {"key": "FLOWER_PASSWORD", "generateValue": True}
    assert render_services()["vigia-flower"]["healthCheckPath"] == "/healthcheck"
    assert "$PORT" in render_services()["vigia-flower"]["startCommand"]


def test_it_runs_exactly_one_beat_and_health_checks_the_web_services() -> None:
    services = render_services()
    assert services["vigia-beat"]["type"] == "worker"
    assert services["vigia-beat"]["numInstances"] == 1
    assert services["vigia-worker"]["type"] == "worker"
    assert services["vigia-api"]["type"] == "web"
    assert services["vigia-api"]["healthCheckPath"] == "/health"


def test_it_gives_running_work_more_time_than_it_needs_before_sigkill() -> None:
    services = render_services()
    group = render_env_keys(services["vigia-worker"])
    soft_shutdown = int(group["WORKER_SOFT_SHUTDOWN_TIMEOUT"]["value"])
    # Celery's soft shutdown, then requeueing the late-acked tasks, must end before SIGKILL.
    assert services["vigia-worker"]["maxShutdownDelaySeconds"] >= soft_shutdown + 10
    assert services["vigia-api"]["maxShutdownDelaySeconds"] > gunicorn_conf.graceful_timeout


def test_it_can_start_every_process_in_production_with_what_it_declares() -> None:
    """Fill sync: false with test values and generateValue with random ones: nothing may be missing."""
    for process, service_name in RENDER_SERVICES.items():
        declared = render_env_keys(render_services()[service_name])
        values: dict[str, str] = {}
        for key, item in declared.items():
            if "value" in item:
                values[key.lower()] = str(item["value"])
            elif item.get("generateValue"):
                values[key.lower()] = "generated-" + key.lower()
            elif "fromService" in item and "envVarKey" in item["fromService"]:
                source = render_env_keys(render_services()[item["fromService"]["name"]])[key]
                if source.get("sync") is False and key in ("DATABASE_URL", "TRANSPARENCY_API_KEY", "GROQ_API_KEY"):
                    values[key.lower()] = {"DATABASE_URL": "postgresql://db/vigia"}.get(key, "test-" + key.lower())
            elif "fromService" in item:
                values[key.lower()] = "redis://red-internal:6379"
            elif key in ("DATABASE_URL", "TRANSPARENCY_API_KEY", "GROQ_API_KEY"):
                values[key.lower()] = {"DATABASE_URL": "postgresql://db/vigia"}.get(key, "test-" + key.lower())
        known = {k: v for k, v in values.items() if k in Settings.model_fields}
        settings = Settings(_env_file=None, **known)  # type: ignore[arg-type]
        assert settings.is_production
        assert settings.problems_for(process) == [], f"{service_name} cannot start as {process}"
        if process in ("web", "worker"):
            assert settings.problems_for("release") == [], f"{service_name} cannot run its preDeployCommand"


def test_it_builds_every_service_the_same_way_on_python_311() -> None:
    services = [s for s in render_services().values() if s["type"] != "keyvalue"]
    assert {s["buildCommand"] for s in services} == {services[0]["buildCommand"]}
    assert "requirements.lock" in services[0]["buildCommand"]
    assert all(s["runtime"] == "python" for s in services)
    version = render_env_keys(services[0])["PYTHON_VERSION"]["value"]
    assert re.fullmatch(r"3\.11\.\d+", version)


def test_it_links_a_deploy_button_that_follows_the_fork() -> None:
    from tests.support.processes import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    # The bare URL deploys the fork whose README links it (Render reads the Referer): no edit needed.
    assert "(https://render.com/deploy)" in readme
    assert "OWNER" not in readme and "render.com/deploy?repo=https://github.com/<you>/vigia" in readme
    assert yaml.safe_load((REPO_ROOT / "render.yaml").read_text())
