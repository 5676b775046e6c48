"""The web process's connections: the store's pool, the Celery client and a Redis client.

Opened once per gunicorn worker in the FastAPI lifespan and closed on its shutdown; nothing here
runs at import. A broker that is down at start-up does not stop the API from serving reads: the
failure is logged, ``/health/ready`` reports it, and a POST that needs the broker answers 503.
With ``ENABLE_CELERY_WORKERS=false`` the deployment has no broker: no Celery client and no Redis
are opened, and on-demand investigations run in this process (:mod:`services.api.inline`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.api.changes import ChangeFeed
from services.api.pagecache import PageCache, public_cache_on
from services.api.quota import OnDemandQuota
from services.api.summaries import SummaryCache, summary_cache
from shared.config import Settings

if TYPE_CHECKING:
    from celery import Celery

    from services.api.inline import InlineInvestigations
    from shared.store.base import Store
    from shared.store.postgres.pages import PostgresJsonPages

log = logging.getLogger("vigia.api.resources")

# Short: a readiness probe or a POST must fail fast rather than hang a worker thread.
REDIS_TIMEOUT_SECONDS = 3.0


@dataclass
class ApiResources:
    settings: Settings
    store: Store
    broker: Celery | None  # None with ENABLE_CELERY_WORKERS=false, as redis
    redis: Any | None  # redis.Redis
    inline: InlineInvestigations | None = None  # only with ENABLE_CELERY_WORKERS=false
    summaries: SummaryCache = field(init=False)  # stats and orgaos, from the store (shared through redis)
    quota: OnDemandQuota | None = None
    pages: PageCache = field(default_factory=lambda: PageCache(0))
    changes: ChangeFeed | None = None  # PostgreSQL's change notifications, for the page caches
    # PostgreSQL writes list pages' JSON itself; None on Supabase (PostgREST answers rows), where
    # the pydantic models serialise them.
    json_pages: PostgresJsonPages | None = None

    def __post_init__(self) -> None:
        self.summaries = summary_cache(self.settings, self.store, self.redis)
        if self.pages.ttl_seconds == 0:
            # Behind the public cache this one only merges a burst of misses into one query.
            max_bytes = 4_000_000 if public_cache_on(self.settings) else 32_000_000
            self.pages = PageCache(self.settings.api_list_cache_seconds, feed=self.changes, max_bytes=max_bytes)
        if self.json_pages is None:
            from shared.store.postgres import PostgresStore

            if isinstance(self.store, PostgresStore):
                from services.api.schemas.investigations import investigation_url
                from shared.store.postgres.pages import PostgresJsonPages

                self.json_pages = PostgresJsonPages(self.store, url_prefix=investigation_url(""))
        if self.quota is None:
            self.quota = OnDemandQuota(self.settings.api_on_demand_daily_quota, self.redis,
                                       workers=self.settings.web_concurrency)

    def close(self) -> None:
        # The investigations first: failing the unfinished ones needs the store still open.
        owned: list[tuple[str, Any]] = [("inline", self.inline), ("store", self.store), ("broker", self.broker),
                                         ("redis", self.redis), ("change feed", self.changes)]
        for name, resource in owned:
            if resource is None:
                continue
            try:
                resource.close()
            except Exception as error:  # one failed close must not keep the others open
                log.warning("closing the %s failed: %s", name, error)


def _redis_client(settings: Settings) -> Any:
    from shared.redis_client import redis_client

    return redis_client(settings, timeout=REDIS_TIMEOUT_SECONDS, name="vigia-web", health_check_interval=25)


def _celery_client(settings: Settings) -> Celery:
    from services.celery_app import create_app

    app = create_app(settings, process="web")
    # The web process only publishes: give up on a dead broker after a few seconds, not forever.
    # It never reads a task's result, so it keeps no result backend: the Redis one subscribes to
    # every sent task's result channel, and during a Redis outage spent five more seconds per POST
    # reconnecting that subscription before logging that the process "must be restarted".
    app.conf.update(
        result_backend=None,
        broker_connection_timeout=REDIS_TIMEOUT_SECONDS,
        broker_connection_max_retries=2,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
    )
    return app


def open_resources(settings: Settings) -> ApiResources:
    from shared.store import get_store

    store = get_store(settings, application_name="vigia-web")
    opener = getattr(store, "open", None)  # PostgresStore: start its pool now, without waiting on it
    if callable(opener):
        opener(wait=False)
    changes = _change_feed(settings)
    if not settings.enable_celery_workers:
        from services.api.inline import InlineInvestigations

        inline = InlineInvestigations(settings, store)
        log.info("ENABLE_CELERY_WORKERS=false: no broker opened; on-demand investigations run in this process",
                 extra={"storage": settings.storage_backend, "max_workers": inline.max_workers})
        return ApiResources(settings=settings, store=store, broker=None, redis=None, inline=inline, changes=changes)
    broker = _celery_client(settings)
    redis_client = _redis_client(settings)
    try:
        # Connect now so the first POST does not pay for it, and a dead broker shows in the logs.
        with broker.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=REDIS_TIMEOUT_SECONDS)
    except Exception as error:
        log.warning("the broker is not reachable at start-up; on-demand requests will fail until it is: %s", error)
    log.info("API resources opened", extra={"storage": settings.storage_backend})
    return ApiResources(settings=settings, store=store, broker=broker, redis=redis_client, changes=changes)


def _change_feed(settings: Settings) -> ChangeFeed | None:
    """PostgreSQL's change notifications for the page caches; None when there is nothing to cache
    or the store is not PostgreSQL (PostgREST cannot LISTEN)."""
    if settings.api_list_cache_seconds <= 0 or settings.storage_backend != "postgres":
        return None
    assert settings.database_url is not None
    return ChangeFeed(settings.database_url.get_secret_value()).start()
