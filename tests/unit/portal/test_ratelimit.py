"""The budget by time of day, in America/Sao_Paulo, from settings."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.config import Settings
from shared.portal.ratelimit import LimiterPolicy, RateSchedule, key_id_for


def test_it_uses_the_night_budget_from_midnight_to_six_in_brasilia() -> None:
    schedule = RateSchedule.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    # 02:59 UTC is 23:59 in São Paulo (UTC-3): still day; 03:00 UTC is midnight there.
    assert schedule.per_minute(datetime(2024, 5, 1, 2, 59, tzinfo=UTC)) == 90
    assert schedule.per_minute(datetime(2024, 5, 1, 3, 0, tzinfo=UTC)) == 300
    assert schedule.per_minute(datetime(2024, 5, 1, 8, 59, tzinfo=UTC)) == 300  # 05:59 local
    assert schedule.per_minute(datetime(2024, 5, 1, 9, 0, tzinfo=UTC)) == 90  # 06:00 local


def test_it_takes_every_figure_from_settings() -> None:
    settings = Settings(_env_file=None, portal_rate_day_per_min=400, portal_rate_night_per_min=700,  # type: ignore[call-arg]
                        portal_night_start_hour=22, portal_night_end_hour=5)
    schedule = RateSchedule.from_settings(settings)
    assert schedule.per_minute(datetime(2024, 5, 2, 1, 30, tzinfo=UTC)) == 700  # 22:30 local, wraps midnight
    assert schedule.per_minute(datetime(2024, 5, 2, 8, 30, tzinfo=UTC)) == 400  # 05:30 local


def test_it_names_a_key_by_a_hash_never_the_key_itself() -> None:
    key = "a-real-portal-key-0001"
    assert key not in key_id_for(key) and len(key_id_for(key)) == 16
    assert key_id_for(key) != key_id_for("another-key-00002")


def test_it_takes_the_429_cool_down_from_settings_for_both_limiters() -> None:
    from shared.portal.ratelimit import LocalRateLimiter, RateLimiter

    settings = Settings(_env_file=None, portal_429_cooldown_seconds=42, portal_429_rate_factor=0.25,  # type: ignore[call-arg]
                        web_concurrency=4)
    policy = LimiterPolicy.from_settings(settings)
    assert (policy.cooldown_seconds, policy.cooldown_factor) == (42.0, 0.25)
    assert policy.schedule == RateSchedule.from_settings(settings)
    assert LimiterPolicy.from_settings(settings, max_wait=5.0).max_wait == 5.0

    class Scripts:
        def register_script(self, script: str) -> object:
            return script

    shared_limiter = RateLimiter.from_settings(settings, Scripts())
    local = LocalRateLimiter.from_settings(settings)
    assert shared_limiter.policy == policy and local.policy == policy and local.share == 0.25
