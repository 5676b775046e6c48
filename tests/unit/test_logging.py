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


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("redis error: redis://:broker-pass-9@redis.internal:6379/0 refused", "broker-pass-9"),
        ("postgresql://vigia:pa/ss-with-slash@db:5432/vigia unreachable", "pa/ss-with-slash"),
        ('request headers {"X-API-Key": "a-write-key-value"}', "a-write-key-value"),
        ("x-api-key=another-key-value; path=/api", "another-key-value"),
    ],
)
def test_it_redacts_url_passwords_and_api_key_headers_it_was_not_told_about(text: str, secret: str) -> None:
    redacted = RedactingFilter([]).redact(text)
    assert secret not in redacted and "***" in redacted


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ('connection to server at "db.abcdefgh.supabase.co" (10.1.2.3), port 5432 failed', "abcdefgh"),
        ('connection to server at "db.abcdefgh.supabase.co" (10.1.2.3), port 5432 failed', "10.1.2.3"),
        ("Error 111 connecting to redis-123.c1.cloud.redislabs.com:16379. Connection refused.", "redislabs"),
        ("PortalUnavailable: https://api.portaldatransparencia.gov.br/api-de-dados timed out", "portaldatransparencia"),
        ("could not be queued: redis://:pw@[2001:db8::1]:6379/0", "2001:db8"),
    ],
)
def test_it_masks_where_servers_live_in_public_texts(text: str, hidden: str) -> None:
    from shared.logging import public_text

    assert hidden not in public_text(text)


def test_it_keeps_the_rest_of_a_public_text_readable() -> None:
    from shared.logging import public_text

    text = "ValueError: Lei nº 14.133/2021, art. 75; GET /contratos {pagina=2} (key #1a2b3c4d) answered 500"
    assert public_text(text) == text
    assert public_text("secret-value-123 leaked", ["secret-value-123"]) == "*** leaked"
