"""The client's address behind the platform's proxies, taken from the one entry of
``X-Forwarded-For`` that a proxy wrote rather than the client.

Each proxy appends the address it received the request from to ``X-Forwarded-For``, so with
``API_TRUSTED_PROXY_HOPS`` (N) proxies in front of gunicorn the client's address is the N-th
entry from the right; everything to its left came from the client and may be anything. uvicorn's
own ProxyHeadersMiddleware (uvicorn/middleware/proxy_headers.py) cannot say this on a platform:
it trusts a proxy by its address, and with ``forwarded_allow_ips="*"`` (the only choice when the
proxy's address is not known in advance) it takes the leftmost entry, the one the client wrote.
So gunicorn trusts no proxy header (``gunicorn_conf.py``) and this middleware sets the scope's
client instead, for the rate limiter and the access log alike.

What the platforms send:
- Render puts Cloudflare in front of its own proxy: ``X-Forwarded-For: <client>, <Cloudflare edge>``
  reaching the app from a private address, so 2 hops
  (https://rohitpaulk.com/articles/render-rails-remote-ip).
- Railway's edge sets ``X-Forwarded-For`` to the client's address
  (https://docs.railway.com/reference/public-networking, "Request Headers"): 1 hop.
- A process reached directly (``make run``, a VPS without a proxy): 0, the default, ignores the
  header and keeps the connection's peer, so nothing a client sends can change its address.

A request with fewer entries than hops did not come through every proxy (it reached the app some
other way), so its peer address is kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

_SCHEMES = frozenset({"http", "https"})


def forwarded_client(header_values: list[bytes], hops: int) -> str | None:
    """The address ``hops`` entries from the right of the joined ``X-Forwarded-For`` values, or
    None when there are fewer entries (or that one is empty)."""
    if hops <= 0 or not header_values:
        return None
    entries = [entry.strip() for entry in b",".join(header_values).decode("latin-1").split(",")]
    if len(entries) < hops:
        return None
    return entries[-hops] or None


class TrustedProxyMiddleware:
    """Sets ``scope["client"]`` (and ``scheme``) from the headers ``hops`` proxies wrote."""

    def __init__(self, app: ASGIApp, *, hops: int) -> None:
        self.app = app
        self.hops = hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.hops > 0:
            forwarded: list[bytes] = []
            proto = None
            for name, value in scope.get("headers", []):
                if name == b"x-forwarded-for":
                    forwarded.append(value)
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").strip()
            client = forwarded_client(forwarded, self.hops)
            if client is not None:
                scope["client"] = (client, 0)
            if proto in _SCHEMES:
                scope["scheme"] = proto
        await self.app(scope, receive, send)
