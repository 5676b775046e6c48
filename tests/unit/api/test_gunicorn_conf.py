"""gunicorn's settings for the web process: workers recycled one at a time, not together."""

from __future__ import annotations

from services.api import gunicorn_conf

# A worker's boot on the 2-core benchmark machine (import, lifespan, summaries) and the pace of
# one worker of two under the benchmark's saturating load with pages cached (benchmarks/api.py
# --page-cache: 9 686 requests/s on the first page over two workers).
BOOT_SECONDS = 3.0
REQUESTS_PER_SECOND_PER_WORKER = 4_800


def test_it_rarely_restarts_two_workers_within_one_boot() -> None:
    # gunicorn gives each worker max_requests + randint(0, jitter); two workers counting at the
    # same pace restart together when their limits are closer than one boot's worth of requests.
    values = gunicorn_conf.max_requests_jitter + 1
    close = min(values, int(BOOT_SECONDS * REQUESTS_PER_SECOND_PER_WORKER))
    together = (2 * close * values - close * close) / (values * values)
    assert together < 0.1


def test_it_restarts_a_saturated_worker_no_more_than_once_in_three_minutes() -> None:
    # Each restart empties that worker's page cache: its misses then set a line's p99.
    assert gunicorn_conf.max_requests / REQUESTS_PER_SECOND_PER_WORKER >= 180
