"""The first cycle of `vigia dev` leaves a database that already holds investigations alone."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.dev.first_cycle import run_first_cycle, settings_for
from services.dev.runner import DevOptions, DevStack
from shared.config import Settings
from shared.store import get_store
from tests.integration.api.conftest import seed_investigation
from tests.support.databases import temporary_database

pytestmark = pytest.mark.integration


@pytest.fixture
def used_database(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, prefix="vigia_dev_used", migrated=True) as url:
        yield url


def test_it_skips_the_first_cycle_when_investigations_exist(used_database: str, redis_url: str) -> None:
    env = {"REDIS_URL": redis_url, "DATABASE_URL": used_database}
    store = get_store(settings_for(env))
    try:
        seed_investigation(store, "12345")
    finally:
        store.close()
    # No worker runs here: a cycle that did not skip would wait for one until the stop below.
    stop = threading.Event()
    timer = threading.Timer(30, stop.set)
    timer.start()
    try:
        report = run_first_cycle(env, stop)
    finally:
        timer.cancel()
    assert report.skipped == "the database already holds investigations: 1" and report.investigations == 1
    stack = DevStack(DevOptions(), environ={}, settings=Settings(_env_file=None), out=io.StringIO())
    assert stack.cycle_lines(report) == [
        "first cycle: skipped (the database already holds investigations: 1); see them at http://127.0.0.1:8000/"
    ]


def test_it_runs_no_first_cycle_with_no_first_cycle(tmp_path: Path) -> None:
    out = io.StringIO()
    stack = DevStack(DevOptions(first_cycle=False, data_dir=tmp_path), environ={},
                     settings=Settings(_env_file=None), out=out)
    stack.simulator = True
    stack.first_cycle({"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert "first cycle" not in out.getvalue()
