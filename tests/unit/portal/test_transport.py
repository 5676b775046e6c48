"""Backoff delays, Retry-After parsing and key masking in error messages."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from shared.portal.errors import body_start, describe_request, mask_key
from shared.portal.transport import RetryPolicy, parse_retry_after


def test_it_backs_off_exponentially_with_jitter_within_bounds() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, rng=random.Random(5))
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)]:
        delays = {policy.backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, so processes retrying together spread out


def test_it_reads_retry_after_as_seconds_or_an_http_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_it_never_shows_more_than_the_start_of_a_key() -> None:
    key = "0123456789abcdef0123"  # pragma: allowlist secret
    assert mask_key(key).startswith("#") and len(mask_key(key)) == 9
    assert not any(key[:n] in mask_key(key) for n in range(3, len(key)))  # not even its first characters
    assert mask_key("short") != mask_key(key)
    text = describe_request("/contratos", {"codigoOrgao": "26000", "pagina": 2}, key)
    assert key not in text and "codigoOrgao=26000" in text and "pagina=2" in text
    assert key not in body_start(f"chave {key} recusada", key)
