"""A resumable step's status decides the follow-up: at once, after the lease, or none."""

from __future__ import annotations

from typing import Any

import pytest

from services.worker.tasks import common
from shared.config import Settings
from shared.pipeline.context import PipelineContext, Step, lease_seconds


class FakeTask:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], float | None]] = []

    def signature(self, *, kwargs: dict[str, Any]) -> Any:
        task = self

        class Signature:
            def apply_async(self, *, countdown: float | None = None) -> None:
                task.sent.append((kwargs, countdown))

        return Signature()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = Settings(_env_file=None, environment="development")
    ctx = PipelineContext(settings=settings, store=None, redis=None, summaries=None, portal_factory=None)  # type: ignore[arg-type]
    monkeypatch.setattr(common, "context", lambda: ctx)
    return settings


def test_it_continues_at_once_when_the_budget_ran_out(settings: Settings) -> None:
    task = FakeTask()
    common.continue_or_wait(task, Step.CONTINUE, run_id=7)
    assert task.sent == [({"run_id": 7}, None)]


def test_it_waits_for_the_other_copys_lease_when_busy(settings: Settings) -> None:
    task = FakeTask()
    common.continue_or_wait(task, Step.BUSY, retry_in=12, run_id=7, orgao="26000")
    common.continue_or_wait(task, Step.BUSY, run_id=8)
    assert task.sent == [({"run_id": 7, "orgao": "26000"}, 13), ({"run_id": 8}, lease_seconds(settings) + 1)]


@pytest.mark.parametrize("status", [Step.DONE, Step.ALREADY_DONE])
def test_it_sends_nothing_when_the_step_is_finished(settings: Settings, status: Step) -> None:
    task = FakeTask()
    common.continue_or_wait(task, status, run_id=7)
    assert task.sent == []
