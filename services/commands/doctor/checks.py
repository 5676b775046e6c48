"""The reference deployment guide's validation checklist as code: what ``vigia doctor`` prints.

Each check answers one question a person deploying Vigia asks — is Redis there, is the database
migrated, is a worker alive, does exactly one beat hold the lock, is the environment complete, are
the Portal and Groq keys accepted, has monitoring run, are there investigations — with a
:class:`~shared.checks.Check`: its status in :mod:`shared.checks`'s vocabulary (printed as the
verdict ``pass``, ``fail`` or ``skip`` when it does not apply, e.g. the Portal key in development),
the reason, and the fix. A failure is ``unhealthy`` where nothing runs without the thing checked
and ``degraded`` where the deployment runs with less (:data:`QUESTIONS`). A check never raises:
whatever goes wrong becomes its failure with the error. Every call out has a short timeout, so the
whole list finishes in seconds even with Redis down.

Redis's PING and the Supabase ping are :mod:`shared.pipeline.health`'s own probes. The rest is
made for a person at a shell: one direct call each with a short timeout and no retries, so a
rejected key reads as such (the hourly health check goes through the shared rate limiter and
retries, and folds everything into healthy/degraded/unhealthy instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shared import redis_keys, task_names
from shared.checks import Check, CheckStatus
from shared.config import CELERY_PROCESSES, GROQ_DEFAULT_MODEL, PORTAL_DEFAULT_URL, Process, Settings
from shared.pipeline import health

HEARTBEAT_PATTERN = redis_keys.WORKER_HEARTBEAT + "*"
# The worker's heartbeat lifetime (services.worker.signals), repeated rather than imported: that module
# connects the worker's signal handlers at import. A test keeps the two equal.
HEARTBEAT_TTL_SECONDS = 60
BEAT_LOCK_KEY = redis_keys.REDBEAT_LOCK
PROCESSES: tuple[Process, ...] = ("web", "worker", "beat", "flower", "release")
# Checks that only make sense where Celery runs (ENABLE_CELERY_WORKERS=true).
_CELERY_CHECKS = frozenset({"redis", "worker", "beat"})


@dataclass(frozen=True)
class Question:
    title: str  # what a person asks, printed before the answer
    failure: CheckStatus  # unhealthy: nothing runs without it; degraded: the deployment runs with less


QUESTIONS: dict[str, Question] = {
    "redis": Question("Redis reachable", "unhealthy"),
    "database": Question("database reachable", "unhealthy"),
    "migrations": Question("database migrated", "unhealthy"),
    "worker": Question("a worker alive", "unhealthy"),
    "beat": Question("one beat holds the lock", "unhealthy"),
    "environment": Question("environment complete", "unhealthy"),
    "portal": Question("Portal key accepted", "degraded"),
    "groq": Question("Groq key accepted", "degraded"),
    "first_run": Question("first monitoring run done", "degraded"),
    "investigations": Question("investigations present", "degraded"),
    "sentry": Question("Sentry error reports", "degraded"),
    "alerts": Question("alert webhook", "degraded"),
    "heartbeat": Question("heartbeat monitor", "degraded"),
    "public_reads": Question("Public roles cannot read around the read key", "degraded"),
}


def passed(name: str, detail: str) -> Check:
    return Check(name, "ok", detail, title=QUESTIONS[name].title)


def failed(name: str, detail: str, fix: str) -> Check:
    question = QUESTIONS[name]
    return Check(name, question.failure, detail, title=question.title, fix=fix)


def skipped(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "skipped", detail, title=QUESTIONS[name].title, fix=fix)


def safe_url(url: str) -> str:
    """A URL without its user and password, for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    return f"{parts.scheme}://{host}{port}{parts.path}"


@dataclass
class _Context:
    """Clients shared by the checks, opened on first use and closed at the end."""

    settings: Settings
    processes: Sequence[Process]
    timeout: float
    transport: Any = None
    _redis: Any = None
    _store: Any = None
    _http: Any = None
    failed: set[str] = field(default_factory=set)

    def redis(self) -> Any:
        if self._redis is None:
            from shared.redis_client import redis_client

            self._redis = redis_client(self.settings, timeout=self.timeout)
        return self._redis

    def store(self) -> Any:
        if self._store is None:
            from shared.store import get_store

            self._store = get_store(self.settings, application_name="vigia-doctor")
        return self._store

    def http(self) -> Any:
        if self._http is None:
            import httpx

            # Never follow a redirect: the request carries a key (the Portal's, Groq's), and httpx
            # keeps custom headers such as chave-api-dados on a redirect to another host.
            self._http = httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False)
        return self._http

    def close(self) -> None:
        for client in (self._redis, self._store, self._http):
            closer = getattr(client, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception:  # noqa: S110 - closing must never hide the report
                    pass


# --- infrastructure ----------------------------------------------------------------------------
def check_redis(ctx: _Context) -> Check:
    where = safe_url(ctx.settings.broker_url)
    try:
        client = ctx.redis()
    except ValueError as error:  # not a redis:// or rediss:// URL
        return failed("redis", f"REDIS_URL is not a Redis URL: {error}",
                     "set REDIS_URL to redis://host:6379/0 (rediss:// for TLS)")
    ping = health.check_redis(client)  # the hourly health check's own probe
    if ping.status != "ok":
        return failed("redis", f"{where} did not answer PING: {ping.detail}",
                     "check REDIS_URL (Render: fromService keyvalue; Railway: ${{Redis.REDIS_URL}}; "
                     "VPS: systemctl status redis-server)")
    ms = ping.latency_ms or 0.0
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except Exception:  # managed Redis (Upstash, some Key Value plans) may refuse CONFIG
        policy = None
    if policy and policy != "noeviction":
        return failed("redis", f"{where} answers, but maxmemory-policy is {policy}: evicted keys lose queued tasks",
                     "set maxmemory-policy noeviction (Render: maxmemoryPolicy: noeviction; redis.conf)")
    return passed("redis", f"{where} answered PING in {ms:.0f} ms (maxmemory-policy {policy or 'not readable'})")


def check_database(ctx: _Context) -> Check:
    backend = ctx.settings.storage_backend
    if backend is None:
        return failed("database", "no DATABASE_URL and no SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY",
                     "set DATABASE_URL (Supabase: Project Settings > Database > Connection string)")
    if backend == "postgres":
        import psycopg

        assert ctx.settings.database_url is not None
        url = ctx.settings.database_url.get_secret_value()
        try:
            with psycopg.connect(url, connect_timeout=max(1, int(ctx.timeout)),
                                 application_name="vigia-doctor") as conn:
                row = conn.execute("SHOW server_version").fetchone()
        except Exception as error:
            return failed("database", f"{safe_url(url)}: {error}".strip(),
                         "check DATABASE_URL, the database's IP allow list and that it is running")
        return passed("database", f"PostgreSQL {row[0] if row else '?'} at {safe_url(url)} answered")
    answer = health.check_database(ctx.store())
    if answer.status != "ok":
        return failed("database", f"Supabase {ctx.settings.supabase_url}: {answer.detail}",
                     "check SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY")
    return passed("database", f"Supabase {ctx.settings.supabase_url} answered in {answer.latency_ms or 0:.0f} ms")


def check_migrations(ctx: _Context) -> Check:
    if "database" in ctx.failed:
        return failed("migrations", "the database is not reachable (see above)", "fix the database first")
    if ctx.settings.database_url is None:
        return _check_migrations_over_rest(ctx)
    import psycopg

    from shared.store.migrate import MIGRATIONS_DIR, discover

    expected = [m.version for m in discover()]
    if not expected:
        return failed("migrations", f"no migration files found in {MIGRATIONS_DIR}",
                     "install Vigia editable from its checkout (`uv pip install -e .`) so supabase/ is beside it")
    url = ctx.settings.database_url.get_secret_value()
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(ctx.timeout)), application_name="vigia-doctor") as conn:
            applied = {row[0] for row in conn.execute("SELECT version FROM vigia_schema_migrations")}
    except psycopg.errors.UndefinedTable:
        applied = set()
    except Exception as error:
        return failed("migrations", f"could not read vigia_schema_migrations: {error}".strip(),
                     "run `vigia migrate`")
    missing = [version for version in expected if version not in applied]
    if missing:
        return failed("migrations", f"{len(missing)} of {len(expected)} migrations not applied: {', '.join(missing)}",
                     "run `vigia migrate` (Render: preDeployCommand; Railway: preDeployCommand; VPS: the installer)")
    return passed("migrations", f"all {len(expected)} migrations applied (latest {expected[-1]})")


def _check_migrations_over_rest(ctx: _Context) -> Check:
    """Supabase-only: the same question `vigia migrate` asks, over PostgREST."""
    from shared.store.schema_check import SchemaCheckError, check_schema, how_to_apply

    settings = ctx.settings
    if not settings.supabase_url or settings.supabase_service_role_key is None:
        return skipped("migrations", "no database configured", "set DATABASE_URL or SUPABASE_*")
    try:
        status = check_schema(settings.supabase_url, settings.supabase_service_role_key.get_secret_value(),
                              timeout=ctx.timeout)
    except SchemaCheckError as error:
        return failed("migrations", str(error), "check SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY")
    if status.current:
        return passed("migrations", f"all {len(status.applied)} migrations applied (checked over the REST API)")
    what = "no Vigia schema" if not status.present else f"missing {', '.join(status.missing)}"
    return failed("migrations", f"the Supabase database has {what}", how_to_apply(settings.supabase_url))


# --- processes ---------------------------------------------------------------------------------
def check_worker(ctx: _Context) -> Check:
    if "redis" in ctx.failed:
        return failed("worker", "Redis is not reachable (see above)", "fix Redis first")
    client = ctx.redis()
    alive: list[str] = []
    for key in client.scan_iter(match=HEARTBEAT_PATTERN, count=200):
        ttl = client.ttl(key)
        if ttl is not None and ttl > 0:
            name = key.decode() if isinstance(key, bytes) else str(key)
            age = max(0, HEARTBEAT_TTL_SECONDS - int(ttl))
            alive.append(f"{name.removeprefix(HEARTBEAT_PATTERN[:-1])} ({age} s ago)")
    if not alive:
        return failed("worker", f"no fresh heartbeat ({HEARTBEAT_PATTERN}); a running worker writes one every 15 s",
                     "start the Procfile's worker and read its log (Render/Railway: the worker service; "
                     "VPS: supervisorctl status vigia:*)")
    return passed("worker", f"{len(alive)} worker(s) beating: {', '.join(sorted(alive))}")


def check_beat(ctx: _Context) -> Check:
    if "redis" in ctx.failed:
        return failed("beat", "Redis is not reachable (see above)", "fix Redis first")
    client = ctx.redis()
    ttl = client.ttl(BEAT_LOCK_KEY)
    if ttl is None or ttl == -2:
        return failed("beat", f"nobody holds {BEAT_LOCK_KEY}: no beat is running, so nothing is scheduled",
                     "start exactly one beat (the Procfile's beat; Render: vigia-beat with numInstances: 1)")
    expiry = "no expiry" if ttl < 0 else f"renewed within {ttl} s"
    return passed("beat", f"{BEAT_LOCK_KEY} is held ({expiry}); a second beat would wait for it, never fire")


def check_environment(ctx: _Context) -> Check:
    settings = ctx.settings
    if not settings.is_production:
        return passed("environment", f"ENVIRONMENT={settings.environment}: every variable has a working default")
    problems = [f"{process}: {problem}" for process in ctx.processes for problem in settings.problems_for(process)]
    if problems:
        return failed("environment", "; ".join(problems),
                     "set them where the service reads its environment (Render/Railway dashboard, the VPS "
                     ".env); in one service's shell check only its process: vigia doctor --process worker")
    return passed("environment", f"production settings complete for {', '.join(ctx.processes)}")


# --- outside services --------------------------------------------------------------------------
def _body_start(response: Any) -> str:
    return " ".join(response.text.split())[:160]


def check_portal(ctx: _Context) -> Check:
    settings = ctx.settings
    base = settings.transparency_api_url.rstrip("/")
    if settings.transparency_api_key is None:
        if not settings.is_production:
            # Outside `vigia dev` no client sends the simulator's placeholder key to the real Portal.
            where = ("the local simulator of `vigia dev` (elsewhere, commands that read the Portal stop "
                     "until TRANSPARENCY_API_KEY or a simulator's TRANSPARENCY_API_URL is set)"
                     if base == PORTAL_DEFAULT_URL else base)
            return skipped("portal", f"no TRANSPARENCY_API_KEY: {settings.environment} runs against {where}")
        return failed("portal", "TRANSPARENCY_API_KEY is not set; production never uses the simulator",
                     "ask for a key at portaldatransparencia.gov.br/api-de-dados/cadastrar-email and set it")
    key = settings.transparency_api_key.get_secret_value()
    try:
        response = ctx.http().get(f"{base}/orgaos-siafi", params={"pagina": 1},
                                  headers={"chave-api-dados": key, "Accept": "application/json"})
    except Exception as error:
        return failed("portal", f"could not reach {base}: {error}",
                     "check TRANSPARENCY_API_URL and the machine's outbound network")
    if response.is_redirect:
        return failed("portal", f"{base}/orgaos-siafi answered HTTP {response.status_code} redirecting to "
                     f"{safe_url(response.headers.get('location', '?'))}; not followed, so the key went nowhere else",
                     "set TRANSPARENCY_API_URL to the final address (https://api.portaldatransparencia.gov.br/api-de-dados)")
    if response.status_code in (401, 403):
        return failed("portal", f"{base}/orgaos-siafi rejected the key (HTTP {response.status_code})",
                     "check TRANSPARENCY_API_KEY (the key e-mailed by the Portal, header chave-api-dados)")
    if response.status_code != 200:
        return failed("portal", f"{base}/orgaos-siafi answered HTTP {response.status_code}: {_body_start(response)}",
                     "try again in a minute; HTTP 429 means the key's rate limit is spent")
    try:
        count = len(response.json())
    except ValueError:
        return failed("portal", f"{base}/orgaos-siafi answered 200 without JSON: {_body_start(response)}",
                     "check TRANSPARENCY_API_URL points at .../api-de-dados")
    return passed("portal", f"{base} accepted the key ({count} órgãos on page 1)")


def check_groq(ctx: _Context) -> Check:
    settings = ctx.settings
    if settings.groq_api_key is None:
        return skipped("groq", "no GROQ_API_KEY: summaries use the deterministic template")
    url = f"{settings.groq_api_url.rstrip('/')}/openai/v1/models"
    try:
        response = ctx.http().get(url, headers={"Authorization": f"Bearer {settings.groq_api_key.get_secret_value()}"})
    except Exception as error:
        return failed("groq", f"could not reach {url}: {error}", "check GROQ_API_URL and the network")
    if response.is_redirect:
        return failed("groq", f"{url} answered HTTP {response.status_code} (a redirect, not followed)",
                     "set GROQ_API_URL to the final address (https://api.groq.com)")
    if response.status_code in (401, 403):
        return failed("groq", f"{url} rejected the key (HTTP {response.status_code})",
                     "check GROQ_API_KEY (console.groq.com > API Keys), or unset it to use the template")
    if response.status_code != 200:
        return failed("groq", f"{url} answered HTTP {response.status_code}: {_body_start(response)}",
                     "try again later")
    try:
        models = sorted(str(item.get("id")) for item in response.json().get("data", []))
    except (ValueError, AttributeError):
        return failed("groq", f"{url} answered 200 without a model list", "check GROQ_API_URL")
    if settings.groq_model not in models:
        # Groq drops a model from this list when it shuts it down (console.groq.com/docs/deprecations).
        if GROQ_DEFAULT_MODEL in models:
            fix = f"set GROQ_MODEL={GROQ_DEFAULT_MODEL} (the default) or unset it"
        else:
            fix = f"set GROQ_MODEL to one of: {', '.join(models[:6])}"
        return failed("groq", f"the key works, but Groq does not serve GROQ_MODEL={settings.groq_model} (retired or unknown; "
                     f"not among its {len(models)} models)", fix)
    return passed("groq", f"accepted the key; {settings.groq_model} is available")


# --- what the system has done ------------------------------------------------------------------
def check_first_run(ctx: _Context) -> Check:
    if "database" in ctx.failed:
        return failed("first_run", "the database is not reachable (see above)", "fix the database first")
    from shared.domain import RunStatus

    store = ctx.store()
    succeeded = [run for task in task_names.MONITOR_CYCLES for run in store.last_runs(task=task, status=RunStatus.SUCCEEDED, limit=1)]
    if succeeded:
        latest = max(succeeded, key=lambda run: run.finished_at or run.started_at)
        return passed("first_run", f"{latest.task} succeeded at {(latest.finished_at or latest.started_at):%Y-%m-%d %H:%M %Z} "
                     f"(run {latest.id})")
    tried = [run for task in task_names.MONITOR_CYCLES for run in store.last_runs(task=task, limit=1)]
    detail = ""
    if tried:
        last = max(tried, key=lambda run: run.started_at)
        detail = f"; the last one ({last.task}, run {last.id}) is {last.status}" + (f": {last.error}" if last.error else "")
    return failed("first_run", "no monitoring run has succeeded yet" + detail,
                 "the beat starts monitor_new_contracts every 6 h and monitor_priority_orgs every 4 h; "
                 "read the worker's log, or start one now: `vigia run monitor_new_contracts`")


def check_investigations(ctx: _Context) -> Check:
    if "database" in ctx.failed:
        return failed("investigations", "the database is not reachable (see above)",
                     "fix the database first")
    page = ctx.store().list_investigations(limit=1)
    if page.total == 0:
        return failed("investigations", "no investigations stored yet",
                     "a monitoring run that finds red flags creates them; or request one with POST /api/v1/investigations")
    return passed("investigations", f"{page.total} investigation(s) stored")


# --- error reports, alerts, heartbeat (shared.observability.probes) -----------------------------
def _probed(name: str, probe: Callable[[Settings, Any], Any], ctx: _Context) -> Check:
    result = probe(ctx.settings, ctx.http())
    verdict = {"pass": passed, "skip": skipped}
    if result.status in verdict:
        return verdict[result.status](name, result.reason)
    return failed(name, result.reason, result.fix)


def check_sentry(ctx: _Context) -> Check:
    from shared.observability import probes

    return _probed("sentry", probes.sentry, ctx)


def check_alerts(ctx: _Context) -> Check:
    from shared.observability import probes

    return _probed("alerts", probes.alert_webhook, ctx)


def check_heartbeat(ctx: _Context) -> Check:
    from shared.observability import probes

    return _probed("heartbeat", probes.heartbeat, ctx)


def _public_reads(ctx: _Context) -> dict[str, bool]:
    settings = ctx.settings
    if settings.database_url is not None:
        import psycopg

        with psycopg.connect(settings.database_url.get_secret_value(), connect_timeout=int(ctx.timeout) or 1,
                             application_name="vigia-doctor") as conn:
            row = conn.execute("SELECT vigia_public_reads()").fetchone()
        return dict(row[0]) if row else {}
    assert settings.supabase_url and settings.supabase_service_role_key is not None
    key = settings.supabase_service_role_key.get_secret_value()
    response = ctx.http().post(f"{settings.supabase_url.rstrip('/')}/rest/v1/rpc/vigia_public_reads", json={},
                               headers={"apikey": key, "Authorization": f"Bearer {key}"})
    response.raise_for_status()
    return dict(response.json())


def check_public_reads(ctx: _Context) -> Check:
    """With API_READ_KEY_REQUIRED=true, Supabase's public roles must not read around the API."""
    if "database" in ctx.failed:
        return failed("public_reads", "the database is not reachable (see above)", "fix the database first")
    readable = sorted(role for role, can in _public_reads(ctx).items() if can)
    if readable:
        return failed("public_reads", f"API_READ_KEY_REQUIRED is true, but {' and '.join(readable)} can still read investigations "
                     "directly (Supabase's /rest/v1 with the public anon key)",
                     "run SELECT vigia_close_public_reads(); (Supabase SQL editor, or psql on DATABASE_URL)")
    return passed("public_reads", "anon and authenticated read nothing; reads go through the API's keys")


CHECKS: tuple[Callable[[_Context], Check], ...] = (
    check_redis,
    check_database,
    check_migrations,
    check_worker,
    check_beat,
    check_environment,
    check_portal,
    check_groq,
    check_first_run,
    check_investigations,
    check_sentry,
    check_alerts,
    check_heartbeat,
)


def run_checks(
    settings: Settings,
    *,
    processes: Iterable[Process] = PROCESSES,
    timeout: float = 5.0,
    transport: Any = None,
    checks: Sequence[Callable[[_Context], Check]] = CHECKS,
) -> list[Check]:
    """Every check, in order; a check that raises becomes its own failure with the error."""
    if not settings.enable_celery_workers:
        # The API alone (e.g. on Hugging Face Spaces): no broker, no worker, no beat to look for.
        processes = [p for p in processes if p not in CELERY_PROCESSES]
    if settings.api_read_key_required and checks is CHECKS:
        checks = (*checks, check_public_reads)  # only then does a public role reading matter
    ctx = _Context(settings=settings, processes=tuple(processes), timeout=timeout, transport=transport)
    results: list[Check] = []
    try:
        for check in checks:
            key = check.__name__.removeprefix("check_")
            if not settings.enable_celery_workers and key in _CELERY_CHECKS:
                results.append(Check(key, "skipped", "ENABLE_CELERY_WORKERS=false: this deployment runs no "
                                     "Celery processes and has no broker", title=key))
                continue
            try:
                result = check(ctx)
            except Exception as error:
                result = Check(key, QUESTIONS[key].failure if key in QUESTIONS else "unhealthy",
                               f"{type(error).__name__}: {error}", title=key.replace("_", " "),
                               fix="see the error; run with LOG_LEVEL=DEBUG for more")
            if result.failed:
                ctx.failed.add(result.name)
            results.append(result)
    finally:
        ctx.close()
    return results
