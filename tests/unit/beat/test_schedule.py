"""The beat schedule: crontabs only, a stated reason and period for each, every task consumed."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery.schedules import crontab

from services.beat.schedule import build_schedule, expected_periods, scheduled_entries
from services.celery_app import TASK_MODULES, create_app
from services.dev.procfile import worker_queues
from shared.config import Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def _fire_times(cron: crontab, days: int = 15) -> list[datetime]:
    start = datetime(2026, 3, 2)  # a Monday; Brazil has no daylight saving time since 2019
    times = []
    for minute in range(days * 24 * 60):
        at = start + timedelta(minutes=minute)
        if (at.minute in cron.minute and at.hour in cron.hour and at.isoweekday() % 7 in cron.day_of_week
                and at.day in cron.day_of_month and at.month in cron.month_of_year):
            times.append(at)
    return times


def test_it_routes_every_scheduled_task_to_a_queue_the_procfile_worker_consumes() -> None:
    app = create_app(_settings(), process="cli")
    for module in TASK_MODULES:
        __import__(module)
    consumed = worker_queues()
    for name, entry in build_schedule(_settings()).items():
        assert entry["task"] in app.tasks, f"{name}: {entry['task']} is not registered by the worker's task modules"
        queue = app.amqp.router.route(entry.get("options", {}), entry["task"])["queue"].name
        assert queue in consumed, f"{name}: {entry['task']} goes to {queue!r}, which the Procfile's worker skips"


def test_it_schedules_every_periodic_task_of_the_issue_with_crontabs() -> None:
    schedule = build_schedule(_settings())
    tasks = {entry["task"] for entry in schedule.values()}
    assert tasks == {
        "vigia.monitoring.monitor_new_contracts", "vigia.monitoring.monitor_priority_orgs",
        "vigia.analysis.reanalyze_historical", "vigia.maintenance.refresh_sanctions",
        "vigia.maintenance.health_check", "vigia.maintenance.cleanup_stuck",
        "vigia.maintenance.build_training_dataset", "vigia.maintenance.metrics_report",
    }
    for name, entry in schedule.items():
        assert isinstance(entry["schedule"], crontab), f"{name} is not a crontab"


def test_it_states_a_period_that_matches_each_crontab() -> None:
    for entry in scheduled_entries(_settings()):
        times = _fire_times(entry.schedule)
        gaps = {later - earlier for earlier, later in zip(times, times[1:], strict=False)}
        assert max(gaps) == entry.period, f"{entry.name}: crontab gaps {sorted(gaps)} vs period {entry.period}"
        assert len(entry.why) > 30, f"{entry.name} needs a comment on why it runs when it does"
        assert entry.as_beat_entry()["options"]["expires"] <= entry.period.total_seconds()


def test_it_passes_the_lookback_settings_to_the_sweeps() -> None:
    schedule = build_schedule(_settings(monitor_lookback_hours=9, priority_lookback_hours=3, reanalysis_months=2))
    assert schedule["monitor-new-contracts"]["kwargs"] == {"lookback_hours": 9}
    assert schedule["monitor-priority-orgs"]["kwargs"] == {"lookback_hours": 3}
    assert schedule["reanalyze-historical"]["kwargs"] == {"months": 2}


def test_it_expects_the_priority_sweep_only_when_priority_orgaos_are_set() -> None:
    assert "vigia.monitoring.monitor_priority_orgs" not in expected_periods(_settings())
    with_priority = expected_periods(_settings(priority_orgaos="26000"))
    assert with_priority["vigia.monitoring.monitor_priority_orgs"] == timedelta(hours=4)
