"""``vigia schedule``: the beat schedule, each entry's queue, next run and (from RedBeat) last run."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.beat import REDBEAT_KEY_PREFIX
from services.beat.schedule import scheduled_entries
from services.commands import Subparsers, add_command
from shared.config import Settings, get_settings


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "schedule", handle, help="print the beat schedule with each entry's next run")
    parser.add_argument("--json", action="store_true", help="one JSON object per entry")
    parser.add_argument("--why", action="store_true", help="also print why each entry runs when it does")


def _cron_text(cron: Any) -> str:
    return " ".join(str(part) for part in (cron._orig_minute, cron._orig_hour, cron._orig_day_of_month,
                                            cron._orig_month_of_year, cron._orig_day_of_week))


def redis_for_schedule(settings: Settings) -> Any:
    """A short-lived client: the listing still prints, without last runs, when Redis is silent."""
    from shared.redis_client import redis_client

    return redis_client(settings, timeout=2, name="vigia-schedule")


def _last_runs(settings: Settings, names: list[str]) -> dict[str, datetime | None] | None:
    """Each entry's last firing as RedBeat recorded it; None when Redis does not answer."""
    import redis
    from redbeat.decoder import RedBeatJSONDecoder

    client = redis_for_schedule(settings)
    try:
        raw = [client.hget(REDBEAT_KEY_PREFIX + name, "meta") for name in names]
    except redis.RedisError:
        return None
    finally:
        client.close()
    result: dict[str, datetime | None] = {}
    for name, value in zip(names, raw, strict=True):
        meta = json.loads(value, cls=RedBeatJSONDecoder) if value else {}
        # RedBeat stores last_run_at when it first saves an entry; only a firing adds the count.
        result[name] = meta.get("last_run_at") if meta.get("total_run_count") else None
    return result


def entries_with_next_run(settings: Settings, now: datetime | None = None) -> list[dict[str, Any]]:
    from services.celery_app import create_app

    app = create_app(settings, process="cli")
    tz = ZoneInfo(settings.timezone)
    now = (now or datetime.now(tz)).astimezone(tz)
    rows = []
    for entry in scheduled_entries(settings):
        cron = entry.schedule
        cron.app = app  # the app's timezone decides the wall-clock slots
        # remaining_estimate reads its own clock a moment after ours; crontabs fire on whole minutes.
        next_run = (now + cron.remaining_estimate(now) + timedelta(seconds=30)).astimezone(tz)
        next_run = next_run.replace(second=0, microsecond=0)
        rows.append({
            "name": entry.name,
            "task": entry.task,
            "crontab": _cron_text(cron),
            "queue": app.amqp.router.route({}, entry.task)["queue"].name,
            "kwargs": entry.kwargs,
            "next_run": next_run,
            "why": entry.why,
        })
    return rows


def handle(args: argparse.Namespace) -> int:
    settings = get_settings()
    rows = entries_with_next_run(settings)
    last = _last_runs(settings, [row["name"] for row in rows])
    out = sys.stdout
    tz = ZoneInfo(settings.timezone)
    for row in rows:
        ran = (last or {}).get(row["name"])
        row["last_run"] = ran.astimezone(tz).replace(microsecond=0) if ran else None
    if args.json:
        for row in rows:
            out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
        return 0
    out.write(f"Beat schedule (times in {settings.timezone})\n\n")
    headers = ("entry", "crontab (m h dom mon dow)", "task", "queue", "next run", "last run")
    table = [headers] + [
        (r["name"], r["crontab"], r["task"], r["queue"], r["next_run"].strftime("%Y-%m-%d %H:%M"),
         r["last_run"].strftime("%Y-%m-%d %H:%M") if r["last_run"] else "never")
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(headers))]
    for index, line in enumerate(table):
        out.write("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() + "\n")
        if index == 0:
            out.write("  ".join("-" * width for width in widths) + "\n")
        elif args.why:
            out.write(f"    why: {rows[index - 1]['why']}\n")
    if last is None:
        out.write("\n(Redis did not answer: last runs unknown)\n")
    return 0
