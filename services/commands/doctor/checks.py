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
retries, and folds everything into healthy/degraded/unhealthy instead). This module holds the
checks of the deployment itself and :func:`run_checks`; :mod:`.keys` those of the outside
services, :mod:`.base` what they share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from services.commands.doctor.base import QUESTIONS, UNREACHABLE, _Context, failed, passed, safe_url, skipped
from services.commands.doctor.keys import (
    check_alerts,
    check_groq,
    check_heartbeat,
    check_portal,
    check_sentry,
)
from shared import redis_keys, task_names
from shared.checks import Check
from shared.config import CELERY_PROCESSES, Process, Settings
from shared.pipeline import health

HEARTBEAT_PATTERN = redis_keys.WORKER_HEARTBEAT + "*"
# The worker's heartbeat lifetime (services.worker.signals), repeated rather than imported: that module
# connects the worker's signal handlers at import. A test keeps the two equal.
HEARTBEAT_TTL_SECONDS = 60
BEAT_LOCK_KEY = redis_keys.REDBEAT_LOCK
PROCESSES: tuple[Process, ...] = ("web", "worker", "beat", "flower", "release")
# Checks that only make sense where Celery runs (ENABLE_CELERY_WORKERS=true).
_CELERY_CHECKS = frozenset({"redis", "worker", "beat"})


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


def check_migrations(ctx: _Context) -> Check:
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


# --- processes ---------------------------------------------------------------------------------
def check_worker(ctx: _Context) -> Check:
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


# --- what the system has done ------------------------------------------------------------------
def check_first_run(ctx: _Context) -> Check:
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
    page = ctx.store().list_investigations(limit=1)
    if page.total == 0:
        return failed("investigations", "no investigations stored yet",
                      "a monitoring run that finds red flags creates them; or request one with POST /api/v1/investigations")
    return passed("investigations", f"{page.total} investigation(s) stored")


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
            needed = QUESTIONS[key].needs if key in QUESTIONS else ""
            # A check whose prerequisite failed would only repeat that failure, listed above.
            result = failed(key, *UNREACHABLE[needed]) if needed in ctx.failed else _asked(check, key, ctx)
            if result.failed:
                ctx.failed.add(result.name)
            results.append(result)
    finally:
        ctx.close()
    return results


def _asked(check: Callable[[_Context], Check], key: str, ctx: _Context) -> Check:
    try:
        return check(ctx)
    except Exception as error:
        return Check(key, QUESTIONS[key].failure if key in QUESTIONS else "unhealthy",
                     f"{type(error).__name__}: {error}", title=key.replace("_", " "),
                     fix="see the error; run with LOG_LEVEL=DEBUG for more")
