"""Fail closed: unset ENVIRONMENT is production, except for `vigia dev` (what `make run` calls)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from services.commands import dev
from shared.config import get_settings


def _args() -> argparse.Namespace:
    """The arguments as `vigia dev` parses them (its own parser, so a new option is never missing)."""
    parser = argparse.ArgumentParser()
    dev.register(parser.add_subparsers())
    return parser.parse_args(["dev", "--web-port", "1", "--flower-port", "2", "--redis-port", "3",
                              "--postgres-port", "4", "--simulator-port", "5", "--only", "web"])


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(dev, "run", lambda options, settings=None: calls.append(options) or 0)
    return calls


def test_it_assumes_development_for_vigia_dev_and_its_processes_when_unset(
    monkeypatch: pytest.MonkeyPatch, started: list[Any]
) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    try:
        get_settings.cache_clear()
        assert get_settings().environment == "production"
        assert dev.handle(_args()) == 0 and len(started) == 1
        import os

        # The runner copies this environment into every process it starts.
        assert os.environ["ENVIRONMENT"] == "development"
    finally:
        monkeypatch.setenv("ENVIRONMENT", "test")
        get_settings.cache_clear()


def test_it_refuses_vigia_dev_under_an_explicit_production(monkeypatch: pytest.MonkeyPatch, started: list[Any]) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    try:
        get_settings.cache_clear()
        assert dev.handle(_args()) == 2 and started == []
    finally:
        monkeypatch.setenv("ENVIRONMENT", "test")
        get_settings.cache_clear()
