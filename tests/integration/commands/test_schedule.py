"""``vigia schedule`` prints every entry with its next run, and the last run RedBeat recorded."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
import redis

from tests.support.processes import REPO_ROOT, venv_bin

pytestmark = pytest.mark.integration


def test_it_prints_each_entry_with_next_and_last_run(service_env: dict[str, str], redis_url: str) -> None:
    from redbeat.decoder import RedBeatJSONEncoder

    client = redis.Redis.from_url(redis_url)
    fired = datetime(2026, 1, 5, 10, 10, tzinfo=UTC)
    client.hset("vigia:redbeat:metrics-report", "meta",
                json.dumps({"last_run_at": fired, "total_run_count": 3}, cls=RedBeatJSONEncoder))
    try:
        result = subprocess.run([venv_bin("vigia"), "schedule", "--json"], env=service_env, cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=60, check=True)
    finally:
        client.delete("vigia:redbeat:metrics-report")
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert "monitor-new-contracts" in rows and "health-check-hourly" in rows
    now = datetime.now(UTC)
    for row in rows.values():
        assert datetime.fromisoformat(row["next_run"]) > now
    assert datetime.fromisoformat(rows["metrics-report"]["last_run"]) == fired
    assert rows["health-check-hourly"]["last_run"] is None
    assert rows["monitor-new-contracts"]["queue"] == "monitoring"
