"""Heartbeat pings in the healthchecks.io style: URLs, run ids, bodies, and never raising."""

from __future__ import annotations

from shared.config import Settings
from shared.observability.heartbeat import ping, ping_url, run_id
from tests.support.webhooks import heartbeat_receiver


def test_it_builds_the_start_success_and_fail_urls_with_a_run_id() -> None:
    base = "https://hc-ping.com/5f1c0b7e-0000-4000-8000-000000000000/"
    assert ping_url(base, "start") == base.rstrip("/") + "/start"
    assert ping_url(base, "success", "r1") == base.rstrip("/") + "?rid=r1"
    assert ping_url(base, "fail", "r1") == base.rstrip("/") + "/fail?rid=r1"
    assert ping_url("https://hc.example/ping/key/vigia?create=1", "start", "r1") == \
        "https://hc.example/ping/key/vigia/start?create=1&rid=r1"


def test_it_gives_one_run_the_same_rid_in_every_process() -> None:
    assert run_id("run", 7) == run_id("run", "7") != run_id("run", 8)
    assert run_id("health", "abc") != run_id("run", "abc")


def test_it_pings_start_success_and_fail_with_the_reason() -> None:
    with heartbeat_receiver() as monitor:
        settings = Settings(_env_file=None, heartbeat_url=monitor.url)
        rid = run_id("run", 1)
        assert ping(settings, "start", rid=rid)
        assert ping(settings, "success", rid=rid, body="900 contracts read")
        assert ping(settings, "fail", rid=run_id("run", 2), body="every part failed")
        pings = monitor.snapshot()
    assert [(p.signal, p.rid) for p in pings] == [("start", rid), ("success", rid), ("fail", run_id("run", 2))]
    assert pings[2].body == "every part failed" and {p.method for p in pings} == {"POST"}


def test_it_redacts_the_body_and_returns_false_when_the_monitor_is_away() -> None:
    secret = "0123456789abcdef0123456789abcdef"  # pragma: allowlist secret
    with heartbeat_receiver() as monitor:
        settings = Settings(_env_file=None, heartbeat_url=monitor.url, transparency_api_key=secret)
        ping(settings, "fail", body=f"Portal refused key {secret}")
        [sent] = monitor.snapshot()
    assert secret not in sent.body and "***" in sent.body
    assert ping(settings, "success") is False  # the receiver is gone: no exception


def test_it_does_nothing_without_a_url() -> None:
    assert ping(Settings(_env_file=None), "start") is False
