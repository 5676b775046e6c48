"""Health checks of a deployment, shared by the hourly task, the API's readiness and ``vigia doctor``.

Each ``check_*`` function takes what it checks (a Redis client, a store, a Portal client, a Groq
chat, run history) and returns a :class:`~shared.checks.Check` — it never raises. Statuses are
:mod:`shared.checks`'s ``ok`` < ``degraded`` < ``unhealthy``; ``skipped`` (not configured) counts as ok:

* Redis or the database not answering: **unhealthy** (nothing can run).
* The CEIS/CNEP mirror empty or older than two days: **degraded** (sanction findings missing).
* The Portal or Groq not answering: **degraded** (sweeps retry later; summaries fall back).
* A schedule whose last successful run is older than its period plus a grace, a monitoring run
  that succeeded having read zero contracts, or a latest monitoring run that failed or lost an
  órgão (a Portal storm it did not weather): **degraded**, until a cycle reads everything again.

:func:`run_health_checks` runs them all and :func:`overall` folds them into the report stored by
the ``vigia.maintenance.health_check`` task: ``{"status": ..., "checks": {name: {...}}}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from shared import redis_keys, task_names
from shared.checks import Check, CheckStatus, worst
from shared.domain import RunStatus
from shared.pipeline.runs import DUPLICATE_DELIVERY

FIRST_SEEN_KEY = redis_keys.HEALTH_FIRST_SEEN
GRACE = timedelta(minutes=10)
ReportStatus = Literal["healthy", "degraded", "unhealthy"]
_REPORT_STATUS: dict[CheckStatus, ReportStatus] = {
    "ok": "healthy", "skipped": "healthy", "degraded": "degraded", "unhealthy": "unhealthy",
}


def _timed(name: str, call: Callable[[], Any], *, failure: CheckStatus, ok_detail: Callable[[Any], str]) -> Check:
    started = time.perf_counter()
    try:
        value = call()
    except Exception as error:  # a check reports, it never raises
        return Check(name, failure, f"{type(error).__name__}: {str(error)[:300]}",
                     latency_ms=round((time.perf_counter() - started) * 1000, 1))
    return Check(name, "ok", ok_detail(value), latency_ms=round((time.perf_counter() - started) * 1000, 1))


def check_redis(redis: Any) -> Check:
    return _timed("redis", redis.ping, failure="unhealthy", ok_detail=lambda _: "PING answered")


def check_database(store: Any) -> Check:
    return _timed("database", store.ping, failure="unhealthy", ok_detail=lambda _: "query answered")


def check_portal(client: Any) -> Check:
    """One cheap call: the first page of ``/orgaos-siafi`` through the shared limiter."""
    def first_page() -> int:
        return len(client.transport.get_json("/orgaos-siafi", {"pagina": 1}, expect=list))

    return _timed("portal", first_page, failure="degraded", ok_detail=lambda n: f"/orgaos-siafi page 1: {n} órgãos")


def check_groq(chat: Any | None) -> Check:
    if chat is None:
        return Check("groq", "skipped", "GROQ_API_KEY not set: summaries use the template")
    return _timed("groq", chat.ping, failure="degraded", ok_detail=lambda model: f"model {model} offered")


def check_schedules(
    store: Any, periods: Mapping[str, timedelta], *, now: datetime, first_seen: datetime | None = None
) -> Check:
    """Every scheduled task succeeded within its period (x1.5, plus a grace).

    A task that never succeeded is stale only once the deployment (``first_seen``, when health
    checks began) is older than that limit; a new deployment is not degraded for a weekly job.
    """
    stale, never = [], []
    for task, period in sorted(periods.items()):
        limit = period * 1.5 + GRACE
        last = store.last_runs(task=task, status=RunStatus.SUCCEEDED, limit=1)
        if last:
            age = now - (last[0].finished_at or last[0].started_at)
            if age > limit:
                stale.append(f"{task} last succeeded {_hours(age)} ago (limit {_hours(limit)})")
        elif first_seen is not None and now - first_seen > limit:
            never.append(f"{task} never succeeded in {_hours(now - first_seen)}")
    problems = stale + never
    if problems:
        return Check("schedules", "degraded", "; ".join(problems))
    return Check("schedules", "ok", f"{len(periods)} schedules within their periods")


SANCTION_MIRROR_MAX_AGE = timedelta(days=2)


def check_sanction_mirror(store: Any, *, now: datetime, max_age: timedelta = SANCTION_MIRROR_MAX_AGE) -> Check:
    """The CEIS/CNEP mirror the sanctions indicator reads: empty, or not refreshed for two days
    (it is refreshed daily), is **degraded** — sanction findings would then be missing or stale."""
    mirror = store.sanction_mirror()
    if mirror.count == 0:
        return Check("sanction_mirror", "degraded", "no CEIS/CNEP record loaded: sanctions cannot be checked")
    if mirror.last_seen is not None and now - mirror.last_seen > max_age:
        return Check("sanction_mirror", "degraded",
                     f"{mirror.count} records, last refreshed {_hours(now - mirror.last_seen)} ago (limit {_hours(max_age)})")
    return Check("sanction_mirror", "ok", f"{mirror.count} records, refreshed within {_hours(max_age)}")


def check_zero_contract_runs(store: Any, tasks: tuple[str, ...] = task_names.MONITOR_CYCLES) -> Check:
    """The last succeeded monitoring run of each kind read at least one contract."""
    empty = []
    for task in tasks:
        last = store.last_runs(task=task, status=RunStatus.SUCCEEDED, limit=1)
        if last and int(last[0].counters.get("contracts_seen", 0)) == 0:
            empty.append(f"{task} run {last[0].id} read zero contracts")
    if empty:
        return Check("zero_contract_runs", "degraded", "; ".join(empty))
    return Check("zero_contract_runs", "ok", "the last monitoring runs read contracts")


def check_monitoring_runs(store: Any, tasks: tuple[str, ...] = task_names.MONITOR_CYCLES) -> Check:
    """The latest finished monitoring run of each kind neither failed nor lost an órgão.

    Without this a cycle that every sweep failed (a revoked key, a Portal answering garbage)
    reads as healthy as soon as the Portal answers the hourly probe again, for the hours until
    the schedule counts as stale. Rows closed only to discard a duplicate delivery are skipped.
    """
    problems = []
    for task in tasks:
        last = next((run for run in store.last_runs(task=task, limit=10)
                     if run.status is not RunStatus.RUNNING and not (run.error or "").startswith(DUPLICATE_DELIVERY)),
                    None)
        if last is None:
            continue
        failed = int(last.counters.get("orgaos_failed", 0))
        if last.status is RunStatus.FAILED:
            problems.append(f"{task} run {last.id} failed: {(last.error or 'no reason recorded')[:200]}")
        elif failed:
            lost = ", ".join(sorted(last.result.get("parts_failed", {}))[:5])
            problems.append(f"{task} run {last.id}: {failed} of {last.result.get('parts', '?')} órgãos failed ({lost})")
    if problems:
        return Check("monitoring_runs", "degraded", "; ".join(problems))
    return Check("monitoring_runs", "ok", "the latest monitoring runs read every órgão")


def overall(checks: Mapping[str, Check]) -> ReportStatus:
    """The report's status: the worst check's, with ``ok`` (and ``skipped``) reading as healthy."""
    return _REPORT_STATUS[worst(checks.values())]


def report(checks: Mapping[str, Check]) -> dict[str, Any]:
    return {"status": overall(checks), "checks": {name: check.as_dict() for name, check in checks.items()}}


def first_seen(redis: Any, now: datetime) -> datetime | None:
    """When health checks first ran on this Redis (set once); None when Redis does not answer."""
    try:
        redis.set(FIRST_SEEN_KEY, now.isoformat(), nx=True)
        value = redis.get(FIRST_SEEN_KEY)
    except Exception:
        return None
    return datetime.fromisoformat(value.decode() if isinstance(value, bytes) else value) if value else None


def run_health_checks(
    *,
    redis: Any,
    store: Any,
    portal: Any | None,
    groq: Any | None,
    periods: Mapping[str, timedelta],
    now: datetime,
) -> dict[str, Check]:
    checks = {"redis": check_redis(redis), "database": check_database(store)}
    checks["portal"] = check_portal(portal) if portal is not None else Check("portal", "skipped", "not checked")
    checks["groq"] = check_groq(groq)
    if checks["database"].status == "ok":
        checks["schedules"] = _guarded("schedules", lambda: check_schedules(
            store, periods, now=now, first_seen=first_seen(redis, now)))
        checks["zero_contract_runs"] = _guarded("zero_contract_runs", lambda: check_zero_contract_runs(store))
        checks["monitoring_runs"] = _guarded("monitoring_runs", lambda: check_monitoring_runs(store))
        checks["sanction_mirror"] = _guarded("sanction_mirror", lambda: check_sanction_mirror(store, now=now))
    return checks


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as error:
        return Check(name, "degraded", f"could not check: {type(error).__name__}: {str(error)[:200]}")


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"
