"""Backoff delays, Retry-After parsing and key masking in error messages."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from shared.portal.errors import body_start, describe_request, mask_key
from shared.portal.transport import RetryPolicy, parse_retry_after


def test_it_backs_off_exponentially_with_jitter_within_bounds() -> None:
    policy = RetryPolicy(max_retries=5, base_delay=1.0, max_delay=10.0, rng=random.Random(5))
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


def test_it_builds_the_client_s_timeout_retries_and_breaker_from_settings_alone() -> None:
    from shared.config import Settings
    from shared.portal.client import PortalClient

    settings = Settings(_env_file=None, transparency_api_url="http://127.0.0.1:9/api-de-dados",  # type: ignore[call-arg]
                        portal_timeout_seconds=7.5, portal_max_retries=3, portal_breaker_failures=9,
                        portal_breaker_reset_seconds=45)
    with PortalClient.from_settings(settings) as client:
        assert client.transport.retry.max_retries == 3
        assert (client.breaker.failure_threshold, client.breaker.reset_seconds) == (9, 45.0)
        assert client.transport.http.timeout.read == 7.5
    with PortalClient.from_settings(settings, max_retries=1) as probe:
        assert probe.transport.retry.max_retries == 1
