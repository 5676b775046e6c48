"""Alerts: each platform's payload, delivery outcomes, one alert per condition per window, redaction."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest

from shared.config import Settings
from shared.observability import alerts
from shared.observability.alerts import Alert, AlertDeliveryError, AlertRejected, deliver, raise_alert
from tests.support.webhooks import webhook_receiver

ALERT = Alert("cycle_failed", "o ciclo de monitoramento falhou (execução 7)", "Motivo: PortalUnavailable",
              subject="vigia.monitoring.monitor_new_contracts", link="https://vigia.example/health/ready")


def _settings(url: str | None, fmt: str = "json", **values: Any) -> Settings:
    return Settings(_env_file=None, alert_webhook_url=url, alert_webhook_format=fmt, **values)


@pytest.mark.parametrize("fmt", ["slack", "discord", "json"])
def test_it_delivers_a_payload_each_platform_accepts(fmt: str) -> None:
    with webhook_receiver(fmt) as receiver:  # type: ignore[arg-type]
        status = deliver(_settings(receiver.url, fmt), ALERT)
        assert status == {"slack": 200, "discord": 204, "json": 200}[fmt]
        [text] = receiver.texts()
    assert text.startswith("Vigia: o ciclo de monitoramento falhou")
    assert "https://vigia.example/health/ready" in text


def test_it_keeps_discord_messages_within_2000_characters_and_mentions_nobody() -> None:
    long = Alert("critical_finding", "@everyone achado", "x" * 5000)
    with webhook_receiver("discord") as receiver:
        assert deliver(_settings(receiver.url, "discord"), long) == 204
        [body] = receiver.received
    assert len(body["content"]) == 2000 and body["allowed_mentions"] == {"parse": []}


def test_it_sends_the_generic_json_fields() -> None:
    with webhook_receiver("json") as receiver:
        deliver(_settings(receiver.url, "json", environment="production"), ALERT)
        [body] = receiver.received
    assert body["source"] == "vigia" and body["kind"] == "cycle_failed" and body["environment"] == "production"
    assert body["subject"] == ALERT.subject and body["link"] == ALERT.link


def test_it_says_a_5xx_or_429_may_pass_and_another_4xx_will_not() -> None:
    with webhook_receiver("slack") as receiver:
        settings = _settings(receiver.url, "slack")
        receiver.fail_next.extend([503, 429])
        with pytest.raises(AlertDeliveryError, match="503"):
            deliver(settings, ALERT)
        with pytest.raises(AlertDeliveryError, match="429"):
            deliver(settings, ALERT)
        with pytest.raises(AlertRejected, match="404"):
            deliver(_settings(receiver.url + "-revoked", "slack"), ALERT)
        assert receiver.received == []
        assert deliver(settings, ALERT) == 200


def test_it_names_the_host_but_never_the_webhook_token_when_unreachable() -> None:
    with webhook_receiver("slack") as receiver:
        url, token = receiver.url, receiver.token
    with pytest.raises(AlertDeliveryError) as raised:
        deliver(_settings(url, "slack"), ALERT)
    assert "127.0.0.1" in str(raised.value) and token not in str(raised.value)


def test_it_redacts_secrets_from_the_text_it_sends() -> None:
    secret = "gsk_" + "A1b2C3d4" * 6  # pragma: allowlist secret
    leaky = Alert("cycle_failed", "falhou", f"Motivo: Groq recusou {secret}")
    with webhook_receiver("json") as receiver:
        deliver(_settings(receiver.url, "json", groq_api_key=secret), leaky)
        [body] = receiver.received
    assert secret not in str(body) and "***" in body["text"]


def test_it_sends_one_alert_per_condition_per_window() -> None:
    redis = fakeredis.FakeRedis()
    sent: list[Alert] = []
    alerts.use_sender(sent.append)
    try:
        settings = _settings("https://hooks.example/x", alert_window_minutes=30)
        assert raise_alert(settings, redis, ALERT) is True
        assert raise_alert(settings, redis, ALERT) is False
        other = Alert("cycle_failed", "o ciclo prioritário falhou", "", subject="vigia.monitoring.monitor_priority_orgs")
        assert raise_alert(settings, redis, other) is True
    finally:
        alerts.use_sender(None)
    assert [a.subject for a in sent] == [ALERT.subject, other.subject]
    assert 0 < redis.ttl(ALERT.dedup_key) <= 30 * 60


def test_it_never_raises_into_the_caller() -> None:
    def broken(_: Alert) -> None:
        raise ConnectionError("broker away")

    class DeadRedis:
        def set(self, *_: Any, **__: Any) -> bool:
            raise ConnectionError("redis away")

    alerts.use_sender(broken)
    try:
        assert raise_alert(_settings("https://hooks.example/x"), fakeredis.FakeRedis(), ALERT) is False
        assert raise_alert(_settings("https://hooks.example/x"), DeadRedis(), ALERT) is False
    finally:
        alerts.use_sender(None)


def test_it_does_nothing_without_a_webhook() -> None:
    sent: list[Alert] = []
    alerts.use_sender(sent.append)
    try:
        assert raise_alert(_settings(None), fakeredis.FakeRedis(), ALERT) is False
    finally:
        alerts.use_sender(None)
    assert sent == []


def test_it_refuses_a_webhook_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="ALERT_WEBHOOK_URL must start with https://"):
        _settings("hooks.slack.com/services/x")
