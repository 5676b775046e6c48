"""Every Redis connection a Vigia process opens, built from the one set of Redis settings.

``REDIS_URL`` names the server; a ``rediss://`` URL means TLS, checked as ``REDIS_SSL_CERT_REQS``
says (``required`` by default). Clients built anywhere else would miss that policy, so a broker
that needs a relaxed one would work for one process and fail in another: the redis-py clients
come from :func:`redis_client`, and the clients other libraries build themselves (Celery's broker
and result backend, RedBeat, the ``limits`` storage) take their TLS options from
:func:`ssl_options` or :func:`connection_options`.

redis-py accepts ``ssl_cert_reqs`` as an ``ssl.VerifyMode`` as well as its name; kombu and
Celery's Redis backend want the ``ssl`` constant, so that is what every client gets
(https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-use-ssl).
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from shared.config import Settings

if TYPE_CHECKING:
    import redis

CERT_REQS: dict[str, ssl.VerifyMode] = {
    "required": ssl.CERT_REQUIRED,
    "optional": ssl.CERT_OPTIONAL,
    "none": ssl.CERT_NONE,
}


def uses_tls(settings: Settings) -> bool:
    return settings.broker_url.startswith("rediss://")


def ssl_options(settings: Settings) -> dict[str, Any] | None:
    """The TLS options of a ``rediss://`` URL (Celery's ``broker_use_ssl`` shape); None without TLS."""
    if not uses_tls(settings):
        return None
    return {"ssl_cert_reqs": CERT_REQS[settings.redis_ssl_cert_reqs]}


def connection_options(settings: Settings, *, timeout: float, name: str | None = None,
                       health_check_interval: int | None = None, retry_on_timeout: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``redis.Redis.from_url(settings.broker_url, ...)`` and its asyncio twin.

    ``timeout`` bounds both connecting and each command, so a silent Redis fails the caller in
    that many seconds; ``name`` shows in ``CLIENT LIST`` as the process holding the connection.
    """
    options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if name is not None:
        options["client_name"] = name
    if health_check_interval is not None:
        options["health_check_interval"] = health_check_interval
    if retry_on_timeout:
        options["retry_on_timeout"] = True
    options.update(ssl_options(settings) or {})
    return options


def redis_client(settings: Settings, *, timeout: float, name: str | None = None,
                 health_check_interval: int | None = None, retry_on_timeout: bool = False) -> redis.Redis:
    """A redis-py client on ``REDIS_URL``; it connects on its first command, not here."""
    import redis

    options = connection_options(settings, timeout=timeout, name=name,
                                 health_check_interval=health_check_interval, retry_on_timeout=retry_on_timeout)
    return redis.Redis.from_url(settings.broker_url, **options)
