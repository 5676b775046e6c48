"""The client address taken from X-Forwarded-For by counting trusted proxy hops from the right."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.api.proxy import TrustedProxyMiddleware, forwarded_client


@pytest.mark.parametrize(
    ("values", "hops", "client"),
    [
        ([b"203.0.113.7"], 1, "203.0.113.7"),
        ([b"6.6.6.6, 203.0.113.7"], 1, "203.0.113.7"),  # the leftmost is the client's own text
        ([b"6.6.6.6, 203.0.113.7, 104.22.17.40"], 2, "203.0.113.7"),  # Render: client, Cloudflare
        ([b"6.6.6.6", b"203.0.113.7"], 1, "203.0.113.7"),  # two header lines read as one list
        ([b"203.0.113.7"], 2, None),  # fewer entries than proxies: it did not come through them
        ([b"203.0.113.7"], 0, None),
        ([], 1, None),
        ([b"6.6.6.6, "], 1, None),
    ],
)
def test_it_takes_the_entry_the_nearest_trusted_proxies_wrote(values: list[bytes], hops: int, client: str | None) -> None:
    assert forwarded_client(values, hops) == client


def _client_seen(hops: int, headers: list[tuple[bytes, bytes]]) -> tuple[Any, Any]:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(client=scope["client"], scheme=scope["scheme"])

    scope = {"type": "http", "client": ("10.0.0.5", 4321), "scheme": "http", "headers": headers}
    asyncio.run(TrustedProxyMiddleware(app, hops=hops)(scope, None, None))  # type: ignore[arg-type]
    return seen["client"], seen["scheme"]


def test_it_keeps_the_peer_address_when_no_proxy_is_trusted() -> None:
    headers = [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"https")]
    assert _client_seen(0, headers) == (("10.0.0.5", 4321), "http")


def test_it_sets_the_client_and_scheme_a_trusted_proxy_reported() -> None:
    headers = [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.7"), (b"x-forwarded-proto", b"https")]
    assert _client_seen(1, headers) == (("203.0.113.7", 0), "https")


def test_it_ignores_a_scheme_that_is_not_http_or_https() -> None:
    headers = [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"javascript")]
    assert _client_seen(1, headers) == (("203.0.113.7", 0), "http")
