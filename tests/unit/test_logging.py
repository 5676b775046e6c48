"""Logs: one JSON object per line, task context attached, secrets never printed."""

from __future__ import annotations

import io
import json
import logging

import pytest

from shared.logging import JsonFormatter, RedactingFilter, log_context

SECRETS = {
    "groq": "gsk_9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c",
    "supabase": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLXZhbHVlLWhlcmU",  # pragma: allowlist secret
    "portal": "a1b2c3d4e5f60718293a4b5c6d7e8f90",  # pragma: allowlist secret
    "db_password": "s3cr3t-Pa55word",  # pragma: allowlist secret
}


@pytest.fixture
def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    handler.addFilter(RedactingFilter(SECRETS.values()))
    logger = logging.getLogger("vigia.test.logging")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_it_writes_one_json_object_per_line_with_the_task_context(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    with log_context(task_id="t-1", task_name="vigia.monitoring.sweep", run_id="42"):
        logger.info("swept %s pages\nsecond line", 3, extra={"orgao": "26000"})
    logger.info("outside")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "swept 3 pages\nsecond line"
    assert (first["task_id"], first["task_name"], first["run_id"], first["orgao"]) == ("t-1", "vigia.monitoring.sweep", "42", "26000")
    assert {"timestamp", "level", "logger"} <= first.keys()
    assert "task_id" not in second


def test_it_never_prints_a_secret(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    url = f"postgresql://vigia:{SECRETS['db_password']}@db.example:5432/vigia"
    logger.info("connecting to %s with key %s", url, SECRETS["portal"], extra={"headers": {"Authorization": f"Bearer {SECRETS['groq']}"}})
    try:
        raise RuntimeError(f"supabase rejected {SECRETS['supabase']}")
    except RuntimeError:
        logger.exception("request failed")
    output = stream.getvalue()
    for value in SECRETS.values():
        assert value not in output
    assert output.count("***") >= 4
    assert "Traceback" in output  # the traceback is kept, only the secret is gone


def test_it_redacts_secret_shapes_it_was_not_told_about() -> None:
    flt = RedactingFilter([])
    text = flt.redact("key gsk_abcdefghijklmnop and redis://default:hunter2pass@host:6379")
    assert "gsk_abcdefghijklmnop" not in text
    assert "hunter2pass" not in text
    assert "host:6379" in text
