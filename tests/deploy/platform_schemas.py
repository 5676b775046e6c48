"""The fields Render Blueprints and Railway config files accept, written down from their docs.

Render: the Blueprint YAML reference (render.com/docs/blueprint-spec, JSON Schema at
render.com/schema/render.yaml.json; ``fromService`` with ``envVarKey`` copies another service's
variable, as in the spec's example and render.com/tutorials/advanced-blueprint-patterns/
cross-service-wiring) and ../shared/handbook/paas.md. Railway: the Config as Code
reference (docs.railway.com/config-as-code/reference, schema railway.com/railway.schema.json),
which Railway no longer reads (its hard cutoff was 2026-12-01): what configures Railway now,
.railway/railway.ts, is checked with the official `railway` package itself (railway_iac.py).
Neither schema is reachable from here, so the accepted keys and values are listed below; a key
not listed, or a deprecated one (``type: redis``, ``env:``, ``autoDeploy:``, Nixpacks settings),
is an error. Each validator returns every error it finds, as a sentence naming the place.
"""

from __future__ import annotations

from typing import Any

# --- Render ------------------------------------------------------------------------------------
RENDER_ROOT_KEYS = {"services", "databases", "envVarGroups", "previews", "projects", "ungrouped"}
RENDER_DEPRECATED = {
    "env": "use runtime",
    "autoDeploy": "use autoDeployTrigger: commit | checksPass | off",
    "pullRequestPreviewsEnabled": "use previews.generation",
    "redis": "use type: keyvalue",
}
_RUNTIME_SERVICE_KEYS = {
    "type", "name", "runtime", "plan", "region", "repo", "branch", "rootDir", "buildCommand",
    "startCommand", "preDeployCommand", "envVars", "autoDeployTrigger", "buildFilter", "numInstances",
    "scaling", "disk", "maxShutdownDelaySeconds", "dockerCommand", "dockerfilePath", "dockerContext",
    "registryCredential", "image", "previews",
}
RENDER_SERVICE_KEYS: dict[str, set[str]] = {
    "web": _RUNTIME_SERVICE_KEYS | {"healthCheckPath", "domains", "staticPublishPath", "headers", "routes"},
    "pserv": set(_RUNTIME_SERVICE_KEYS),
    "worker": set(_RUNTIME_SERVICE_KEYS),
    "cron": (_RUNTIME_SERVICE_KEYS - {"numInstances", "scaling", "disk", "maxShutdownDelaySeconds"}) | {"schedule"},
    "keyvalue": {"type", "name", "plan", "region", "ipAllowList", "maxmemoryPolicy", "previews"},
}
RENDER_RUNTIMES = {"python", "node", "ruby", "go", "rust", "elixir", "docker", "image", "static"}
RENDER_PLANS = {"free", "starter", "standard", "pro", "pro plus", "pro max", "pro ultra"}
RENDER_KEYVALUE_PLANS = {"free", "starter", "standard", "pro", "pro plus"}
RENDER_REGIONS = {"oregon", "ohio", "virginia", "frankfurt", "singapore"}
RENDER_AUTODEPLOY = {"commit", "checksPass", "off"}
RENDER_MAXMEMORY = {"allkeys-lfu", "allkeys-lru", "allkeys-random", "noeviction",
                    "volatile-lfu", "volatile-lru", "volatile-random", "volatile-ttl"}
RENDER_FROM_SERVICE_KEYS = {"type", "name", "property", "envVarKey"}
RENDER_FROM_SERVICE_PROPERTIES = {"host", "port", "hostport", "connectionString"}
RENDER_FROM_DATABASE_KEYS = {"name", "property"}
RENDER_GROUP_KEYS = {"name", "envVars"}


def _env_var_errors(where: str, item: Any, *, in_group: bool) -> list[str]:
    if not isinstance(item, dict):
        return [f"{where}: an env var must be a mapping"]
    if "fromGroup" in item:
        if in_group:
            return [f"{where}: a group cannot include another group"]
        return [] if set(item) == {"fromGroup"} else [f"{where}: fromGroup stands alone, found {sorted(item)}"]
    errors = []
    if not isinstance(item.get("key"), str) or not item.get("key"):
        errors.append(f"{where}: every env var needs a key")
    sources = [k for k in ("value", "generateValue", "sync", "fromService", "fromDatabase") if k in item]
    unknown = set(item) - {"key", "value", "generateValue", "sync", "fromService", "fromDatabase"}
    if unknown:
        errors.append(f"{where} ({item.get('key')}): unknown fields {sorted(unknown)}")
    if len(sources) != 1:
        errors.append(f"{where} ({item.get('key')}): exactly one of value/generateValue/sync/fromService/"
                      f"fromDatabase, found {sources}")
    if in_group and set(sources) - {"value", "generateValue"}:
        errors.append(f"{where} ({item.get('key')}): groups hold only value or generateValue")
    if "value" in item and not isinstance(item["value"], str | int | float | bool):
        errors.append(f"{where} ({item.get('key')}): value must be a scalar")
    if "generateValue" in item and item["generateValue"] is not True:
        errors.append(f"{where} ({item.get('key')}): generateValue must be true")
    if "sync" in item and item["sync"] is not False:
        errors.append(f"{where} ({item.get('key')}): sync must be false (it marks a value asked for at creation)")
    if "fromService" in item:
        ref = item["fromService"]
        if not isinstance(ref, dict) or set(ref) - RENDER_FROM_SERVICE_KEYS or not {"type", "name"} <= set(ref):
            errors.append(f"{where} ({item.get('key')}): fromService needs type and name, and property or envVarKey")
        else:
            if ref["type"] == "redis":
                errors.append(f"{where} ({item.get('key')}): fromService type redis is deprecated; use keyvalue")
            elif ref["type"] not in RENDER_SERVICE_KEYS:
                errors.append(f"{where} ({item.get('key')}): fromService type {ref['type']!r} is not a service type")
            if ("property" in ref) == ("envVarKey" in ref):
                errors.append(f"{where} ({item.get('key')}): fromService takes property or envVarKey")
            if "property" in ref and ref["property"] not in RENDER_FROM_SERVICE_PROPERTIES:
                errors.append(f"{where} ({item.get('key')}): unknown fromService property {ref['property']!r}")
    if "fromDatabase" in item:
        ref = item["fromDatabase"]
        if not isinstance(ref, dict) or set(ref) != RENDER_FROM_DATABASE_KEYS:
            errors.append(f"{where} ({item.get('key')}): fromDatabase needs exactly name and property")
    return errors


def _service_errors(index: int, service: Any) -> list[str]:
    if not isinstance(service, dict):
        return [f"services[{index}]: a service must be a mapping"]
    name = service.get("name", f"services[{index}]")
    kind = service.get("type")
    errors = []
    if kind == "redis":
        return [f"{name}: type redis is deprecated; {RENDER_DEPRECATED['redis']}"]
    if kind not in RENDER_SERVICE_KEYS:
        return [f"{name}: unknown service type {kind!r}"]
    for key in service:
        if key in RENDER_DEPRECATED:
            errors.append(f"{name}: {key} is deprecated; {RENDER_DEPRECATED[key]}")
        elif key not in RENDER_SERVICE_KEYS[kind]:
            errors.append(f"{name}: {key} is not a field of a {kind} service")
    plan = service.get("plan", "starter")
    if kind == "keyvalue":
        if plan not in RENDER_KEYVALUE_PLANS:
            errors.append(f"{name}: unknown Key Value plan {plan!r}")
        if "ipAllowList" not in service:
            errors.append(f"{name}: a Key Value needs ipAllowList ([] = internal only)")
        elif not isinstance(service["ipAllowList"], list):
            errors.append(f"{name}: ipAllowList must be a list")
        policy = service.get("maxmemoryPolicy")
        if policy is not None and policy not in RENDER_MAXMEMORY:
            errors.append(f"{name}: unknown maxmemoryPolicy {policy!r}")
    else:
        if service.get("runtime") not in RENDER_RUNTIMES:
            errors.append(f"{name}: runtime must be one of {sorted(RENDER_RUNTIMES)}")
        if plan not in RENDER_PLANS:
            errors.append(f"{name}: unknown plan {plan!r}")
        if plan == "free" and kind != "web":
            errors.append(f"{name}: only web services may be free ({kind} starts at starter)")
        if plan == "free" and "maxShutdownDelaySeconds" in service:
            errors.append(f"{name}: maxShutdownDelaySeconds is not accepted on the free plan")
        if plan == "free" and "preDeployCommand" in service:
            errors.append(f"{name}: preDeployCommand needs a paid plan")
        delay = service.get("maxShutdownDelaySeconds")
        if delay is not None and not (isinstance(delay, int) and 1 <= delay <= 300):
            errors.append(f"{name}: maxShutdownDelaySeconds must be an integer from 1 to 300")
        trigger = service.get("autoDeployTrigger")
        if trigger is not None and trigger not in RENDER_AUTODEPLOY:
            errors.append(f"{name}: autoDeployTrigger must be one of {sorted(RENDER_AUTODEPLOY)}")
        instances = service.get("numInstances")
        if instances is not None and not (isinstance(instances, int) and instances >= 1):
            errors.append(f"{name}: numInstances must be a positive integer")
        if service.get("runtime") not in ("docker", "image", "static") and "startCommand" not in service:
            errors.append(f"{name}: a native-runtime service needs a startCommand")
        for i, item in enumerate(service.get("envVars", [])):
            errors.extend(_env_var_errors(f"{name}.envVars[{i}]", item, in_group=False))
    region = service.get("region")
    if region is not None and region not in RENDER_REGIONS:
        errors.append(f"{name}: unknown region {region!r}")
    return errors


def blueprint_errors(document: Any) -> list[str]:
    """Every way ``document`` (a parsed render.yaml) departs from the Blueprint fields."""
    if not isinstance(document, dict):
        return ["render.yaml must be a mapping"]
    errors = [f"root: unknown key {key}" for key in document if key not in RENDER_ROOT_KEYS]
    for index, service in enumerate(document.get("services", [])):
        errors.extend(_service_errors(index, service))
    groups = document.get("envVarGroups", [])
    for group in groups:
        unknown = set(group) - RENDER_GROUP_KEYS
        if unknown:
            errors.append(f"group {group.get('name')}: unknown fields {sorted(unknown)}")
        for i, item in enumerate(group.get("envVars", [])):
            errors.extend(_env_var_errors(f"group {group.get('name')}.envVars[{i}]", item, in_group=True))
    names = [service.get("name") for service in document.get("services", []) if isinstance(service, dict)]
    errors.extend(f"service name {n!r} is used twice" for n in {n for n in names if names.count(n) > 1})
    by_name = {s.get("name"): s.get("type") for s in document.get("services", []) if isinstance(s, dict)}
    group_names = {g.get("name") for g in groups}
    for service in document.get("services", []):
        for item in service.get("envVars", []) if isinstance(service, dict) else []:
            if "fromGroup" in item and item["fromGroup"] not in group_names:
                errors.append(f"{service.get('name')}: fromGroup {item['fromGroup']!r} is not declared")
            ref = item.get("fromService")
            if isinstance(ref, dict) and ref.get("name") in by_name and by_name[ref["name"]] != ref.get("type"):
                errors.append(f"{service.get('name')}: fromService {ref['name']} is a {by_name[ref['name']]}, "
                              f"not a {ref.get('type')}")
            elif isinstance(ref, dict) and ref.get("name") not in by_name:
                errors.append(f"{service.get('name')}: fromService names undeclared service {ref.get('name')!r}")
            if isinstance(ref, dict) and "envVarKey" in ref and ref.get("name") in by_name:
                source = next(s for s in document["services"] if s.get("name") == ref["name"])
                own = {i.get("key"): i for i in source.get("envVars", []) if "key" in i}
                if ref["envVarKey"] not in own:
                    errors.append(f"{service.get('name')}: fromService {ref['name']} envVarKey {ref['envVarKey']!r} "
                                  "is not declared on that service")
                elif "fromService" in own[ref["envVarKey"]]:
                    errors.append(f"{service.get('name')}: {ref['name']}.{ref['envVarKey']} is itself a reference; "
                                  "point at the service that declares the value")
    return errors


# --- Railway -----------------------------------------------------------------------------------
RAILWAY_SCHEMA_URL = "https://railway.com/railway.schema.json"
RAILWAY_ROOT_KEYS = {"$schema", "build", "deploy", "environments"}
RAILWAY_BUILD_KEYS = {"builder", "watchPatterns", "buildCommand", "dockerfilePath", "railpackVersion"}
RAILWAY_BUILD_DEPRECATED = {"nixpacksConfigPath", "nixpacksPlan", "nixpacksVersion"}
RAILWAY_BUILDERS = {"RAILPACK", "DOCKERFILE"}
RAILWAY_DEPLOY_KEYS = {
    "startCommand", "preDeployCommand", "multiRegionConfig", "healthcheckPath", "healthcheckTimeout",
    "restartPolicyType", "restartPolicyMaxRetries", "cronSchedule", "overlapSeconds", "drainingSeconds",
}
RAILWAY_RESTART = {"ON_FAILURE", "ALWAYS", "NEVER"}


def railway_errors(document: Any, *, where: str = "railway.json") -> list[str]:
    """Every way ``document`` (a parsed railway.json) departs from the Config as Code fields."""
    if not isinstance(document, dict):
        return [f"{where}: must be a JSON object"]
    errors = [f"{where}: unknown key {key}" for key in document if key not in RAILWAY_ROOT_KEYS]
    if document.get("$schema") != RAILWAY_SCHEMA_URL:
        errors.append(f"{where}: $schema must be {RAILWAY_SCHEMA_URL}")
    build = document.get("build", {})
    for key in build:
        if key in RAILWAY_BUILD_DEPRECATED:
            errors.append(f"{where}: build.{key} belongs to the deprecated Nixpacks builder")
        elif key not in RAILWAY_BUILD_KEYS:
            errors.append(f"{where}: build.{key} is not a build setting")
    builder = build.get("builder")
    if builder == "NIXPACKS":
        errors.append(f"{where}: builder NIXPACKS is deprecated; use RAILPACK or DOCKERFILE")
    elif builder is not None and builder not in RAILWAY_BUILDERS:
        errors.append(f"{where}: unknown builder {builder!r}")
    deploy = document.get("deploy", {})
    for key in deploy:
        if key not in RAILWAY_DEPLOY_KEYS:
            errors.append(f"{where}: deploy.{key} is not a deploy setting")
    if "preDeployCommand" in deploy and not (
        isinstance(deploy["preDeployCommand"], list) and all(isinstance(c, str) for c in deploy["preDeployCommand"])
    ):
        errors.append(f"{where}: deploy.preDeployCommand must be an array of commands")
    if "restartPolicyType" in deploy and deploy["restartPolicyType"] not in RAILWAY_RESTART:
        errors.append(f"{where}: restartPolicyType must be one of {sorted(RAILWAY_RESTART)}")
    for key in ("healthcheckTimeout", "restartPolicyMaxRetries", "overlapSeconds", "drainingSeconds"):
        # Railway's parser wants numbers here, whatever older examples show.
        if key in deploy and not (isinstance(deploy[key], int) and not isinstance(deploy[key], bool)):
            errors.append(f"{where}: deploy.{key} must be a number, not {type(deploy[key]).__name__}")
    if "restartPolicyMaxRetries" in deploy and deploy.get("restartPolicyType") != "ON_FAILURE":
        errors.append(f"{where}: restartPolicyMaxRetries applies only to restartPolicyType ON_FAILURE")
    for name, override in document.get("environments", {}).items():
        errors.extend(railway_errors({"$schema": RAILWAY_SCHEMA_URL, **override}, where=f"{where}:{name}"))
    return errors
