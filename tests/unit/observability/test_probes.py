"""What `vigia doctor` says about Sentry, the alert webhook and the heartbeat, sending nothing real."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shared.config import Settings
from shared.observability import probes
from tests.support.sentry_ingest import sentry_ingest
from tests.support.webhooks import heartbeat_receiver, webhook_receiver


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def test_it_skips_what_is_not_configured(http: httpx.Client) -> None:
    settings = Settings(_env_file=None)
    for probe in (probes.sentry, probes.alert_webhook, probes.heartbeat):
        assert probe(settings, http).status == "skip"


@pytest.mark.parametrize("fmt", ["slack", "discord", "json"])
def test_it_checks_a_webhook_without_posting_a_message(fmt: str, http: httpx.Client) -> None:
    with webhook_receiver(fmt) as receiver:  # type: ignore[arg-type]
        result = probes.alert_webhook(Settings(_env_file=None, alert_webhook_url=receiver.url,
                                               alert_webhook_format=fmt), http)
        assert receiver.received == []
    assert result.status == "pass", result
    assert receiver.token not in result.reason and "no " in result.reason


@pytest.mark.parametrize("fmt", ["slack", "discord"])
def test_it_fails_a_webhook_whose_token_is_refused(fmt: str, http: httpx.Client) -> None:
    with webhook_receiver(fmt) as receiver:  # type: ignore[arg-type]
        result = probes.alert_webhook(Settings(_env_file=None, alert_webhook_url=receiver.url + "x",
                                               alert_webhook_format=fmt), http)
    assert result.status == "fail" and "ALERT_WEBHOOK_URL" in result.fix


def test_it_checks_the_heartbeat_host_without_pinging_the_check(http: httpx.Client) -> None:
    with heartbeat_receiver() as monitor:
        result = probes.heartbeat(Settings(_env_file=None, heartbeat_url=monitor.url), http)
        assert monitor.pings == [] and monitor.site_requests == 1
    assert result.status == "pass" and monitor.check not in result.reason


def test_it_fails_an_unreachable_heartbeat_host(http: httpx.Client) -> None:
    with heartbeat_receiver() as monitor:
        url = monitor.url
    assert probes.heartbeat(Settings(_env_file=None, heartbeat_url=url), http).status == "fail"


def test_it_checks_the_sentry_host_without_sending_an_event(http: httpx.Client) -> None:
    with sentry_ingest() as ingest:
        result = probes.sentry(Settings(_env_file=None, sentry_dsn=ingest.dsn), http)
        assert ingest.envelopes == []
    assert result.status == "pass" and ingest.public_key not in result.reason


def test_it_fails_a_sentry_dsn_that_is_not_one(http: httpx.Client) -> None:
    result = probes.sentry(Settings(_env_file=None, sentry_dsn="https://sentry.io/not-a-dsn"), http)
    assert result.status == "fail" and "Client Keys" in result.fix
