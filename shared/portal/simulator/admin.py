"""A small client for the simulator's admin paths, for tests, benchmarks and other pipelines' tests.

``SimulatorAdmin("http://127.0.0.1:8090")`` (the server root or its ``/api-de-dados`` URL) sets
faults, reads counters and the request log, and amends contracts over real HTTP, so it works the
same against an in-process :class:`~shared.portal.simulator.server.SimulatorServer` and a
``vigia simulator serve`` process.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.portal.simulator.api import PREFIX
from shared.portal.simulator.server import ADMIN


class SimulatorAdmin(httpx.Client):
    """An HTTP client rooted at the simulator's admin paths; close it, or use it in ``with``."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        root = url.rstrip("/")
        if root.endswith(PREFIX):
            root = root[: -len(PREFIX)]
        super().__init__(base_url=root + ADMIN, timeout=timeout)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise RuntimeError(f"simulator admin {response.request.url.path} answered "
                               f"{response.status_code}: {response.text[:300]}")
        body: Any = response.json()
        if not isinstance(body, dict):
            raise RuntimeError(f"simulator admin {response.request.url.path} answered a JSON "
                               f"{type(body).__name__}, not an object: {response.text[:300]}")
        return body

    def health(self) -> dict[str, Any]:
        return self._json(self.get("/health"))

    def configure(self, **faults: Any) -> dict[str, Any]:
        """Merge fault settings (see FaultConfig), e.g. ``configure(rate_limit=100, script=["503"])``."""
        return self._json(self.post("/config", json=faults))

    def config(self) -> dict[str, Any]:
        return self._json(self.get("/config"))

    def reset(self) -> None:
        self._json(self.post("/reset", json={}))

    def stats(self) -> dict[str, Any]:
        return self._json(self.get("/stats"))

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = self._json(self.get("/requests", params={"since": since}))["requests"]
        return requests

    def amend(self, contract_id: int, **fields: Any) -> dict[str, Any]:
        """Change a contract as a termo aditivo would (e.g. ``valorFinalCompra=123456.78``)."""
        return self._json(self.post(f"/contracts/{contract_id}/amend", json=fields))

    def ground_truth(self) -> dict[str, Any]:
        return self._json(self.get("/ground-truth"))
