"""``vigia run``'s argument parsing, task names and progress bar."""

from __future__ import annotations

import io

import pytest

from services.celery_app import TASK_MODULES, create_app
from services.commands.run import ProgressBar, parse_kwargs, resolve_task
from shared.config import Settings


def test_it_reads_values_as_json_when_they_parse() -> None:
    assert parse_kwargs(["lookback_hours=24", "contract_ids=[1,2]", "trigger=priority", "x="]) == {
        "lookback_hours": 24, "contract_ids": [1, 2], "trigger": "priority", "x": ""}
    with pytest.raises(SystemExit, match="not key=value"):
        parse_kwargs(["24"])


def test_it_resolves_short_task_names() -> None:
    app = create_app(Settings(_env_file=None), process="cli")
    for module in TASK_MODULES:
        __import__(module)
    assert resolve_task(app, "monitor_new_contracts") == "vigia.monitoring.monitor_new_contracts"
    assert resolve_task(app, "maintenance.health_check") == "vigia.maintenance.health_check"
    assert resolve_task(app, "vigia.analysis.investigate") == "vigia.analysis.investigate"
    with pytest.raises(SystemExit, match="no task named"):
        resolve_task(app, "nope")


def test_it_prints_a_line_per_tenth_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, "sweep", width=10)
    for done in range(0, 21):
        bar.update(done, 20, "parts")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "sweep [..........] 0/20 parts"
    assert lines[-1] == "sweep [##########] 20/20 parts"
    assert len(lines) == 11
