"""The simulator's misbehaviour, set at runtime: rate limits, failures, slowness, bad bodies.

:class:`FaultConfig` is what an operator or a test sets (``POST /__sim__/config`` with JSON);
:class:`FaultState` applies it request by request. Two kinds of fault exist:

- *scripted*: ``script`` is a queue of outcomes for the next requests (``"503"``, ``"429"``,
  ``"429:2"`` = 429 with ``Retry-After: 2``, ``"empty"``, ``"html"``, ``"slow:1.5"``, ``"403"``,
  ``"400"``, ``"ok"``), so a test knows exactly what happens and in what order;
- *random*: ratios (5xx, empty body, non-JSON, slow) drawn from a seeded generator, and
  ``malformed_ratio`` / ``malformed_ids``, which corrupt the same contract records every time
  (chosen by id, not by draw; see :func:`corrupt`).

The per-key limit is a sliding window (at most ``rate_limit`` accepted requests in any
``rate_window_seconds``), the strictest reading of "N requests per minute". Refused requests do
not count against it.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

SCRIPT_TOKENS = ("ok", "503", "500", "502", "504", "429", "empty", "html", "slow", "400", "401", "403")


class ConfigError(ValueError):
    """A fault configuration that names an unknown setting or an impossible value."""


def _ratio() -> Any:
    """A share of requests (or records) in [0, 1]; :meth:`FaultConfig.validate` checks every field declared so."""
    return field(default=0.0, metadata={"ratio": True})


@dataclass
class FaultConfig:
    rate_limit: int | None = None  # accepted requests per key per window; None = unlimited
    rate_window_seconds: float = 60.0
    retry_after: float | None = None  # Retry-After sent with a 429; None = when the window frees a slot
    retry_after_header: bool = True  # False: 429s carry no Retry-After (the client must wait >= 60 s)
    error_ratio: float = _ratio()
    error_status: int = 503
    empty_ratio: float = _ratio()
    non_json_ratio: float = _ratio()
    slow_ratio: float = _ratio()
    slow_seconds: float = 0.0
    malformed_ratio: float = _ratio()
    malformed_ids: list[int] = field(default_factory=list)
    page_overlap: int = 0  # page n starts with the last ``page_overlap`` records of page n-1
    forbidden: bool = False  # every request answered 403, as for a revoked key
    api_keys: list[str] | None = None  # None = any non-empty key; a missing key is always 401
    script: list[str] = field(default_factory=list)
    seed: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any], *, base: FaultConfig | None = None) -> FaultConfig:
        """``base`` updated with ``data``; unknown keys and bad values raise ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError("the fault configuration must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        merged = dataclasses.asdict(base or cls())
        merged.update(data)
        config = cls(**merged)
        config.validate()
        return config

    def validate(self) -> None:
        for ratio in (f for f in dataclasses.fields(self) if f.metadata.get("ratio")):
            value = getattr(self, ratio.name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigError(f"{ratio.name} must be a number in [0, 1], got {value!r}")
        if self.rate_limit is not None and (not isinstance(self.rate_limit, int) or self.rate_limit < 1):
            raise ConfigError(f"rate_limit must be a positive integer or null, got {self.rate_limit!r}")
        if self.rate_window_seconds <= 0:
            raise ConfigError("rate_window_seconds must be positive")
        if not 500 <= int(self.error_status) <= 599:
            raise ConfigError(f"error_status must be a 5xx status, got {self.error_status!r}")
        if not 0 <= int(self.page_overlap) < 15:
            raise ConfigError("page_overlap must be in [0, 14]")
        for token in self.script:
            head = str(token).split(":", 1)[0]
            if head not in SCRIPT_TOKENS:
                raise ConfigError(f"script entry {token!r} is not one of {SCRIPT_TOKENS} (optionally ':seconds')")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Decision:
    """What to do with one request before (or instead of) answering it from the data."""

    status: int | None = None  # answer with this status and no data (None: serve normally)
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    retry_after: float | None = None
    delay: float = 0.0


class FaultState:
    """Applies a FaultConfig to requests; thread-safe (the server answers on many threads)."""

    def __init__(self, config: FaultConfig | None = None, *, clock: Any = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._windows: dict[str, deque[float]] = {}
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self._script = deque(config.script)
            self._malformed = set(config.malformed_ids)

    def reset_windows(self) -> None:
        with self._lock:
            self._windows.clear()

    def admit(self, key: str) -> Decision:
        """Authorization, then the per-key window, then scripted and random faults."""
        with self._lock:
            config = self.config
            if config.forbidden or (config.api_keys is not None and key not in config.api_keys):
                return Decision(403, "Acesso negado: chave de API inválida ou sem permissão.".encode())
            if config.rate_limit is not None:
                now = self._clock()
                window = self._windows.setdefault(key, deque())
                while window and window[0] <= now - config.rate_window_seconds:
                    window.popleft()
                if len(window) >= config.rate_limit:
                    frees_in = window[0] + config.rate_window_seconds - now
                    wait = config.retry_after if config.retry_after is not None else max(1, math.ceil(frees_in))
                    return _too_many(wait if config.retry_after_header else None)
                window.append(now)
            if self._script:
                return _scripted(self._script.popleft(), config)
            draw = self._rng.random
            if config.error_ratio and draw() < config.error_ratio:
                return Decision(config.error_status, b"Erro interno do servidor")
            if config.empty_ratio and draw() < config.empty_ratio:
                return Decision(200, b"", "application/json;charset=UTF-8")
            if config.non_json_ratio and draw() < config.non_json_ratio:
                return Decision(200, _HTML, "text/html; charset=utf-8")
            if config.slow_ratio and draw() < config.slow_ratio:
                return Decision(None, delay=config.slow_seconds)
            return Decision(None)

    def is_malformed(self, record_id: object) -> bool:
        config = self.config
        if isinstance(record_id, int) and record_id in self._malformed:
            return True
        if not config.malformed_ratio or not isinstance(record_id, int):
            return False
        # Multiplicative hashing: the same records are corrupted on every request and every retry.
        return ((record_id * 2654435761 + config.seed) % 1_000_003) / 1_000_003 < config.malformed_ratio


_HTML = "<html><body><h1>Portal da Transparência</h1><p>Serviço em manutenção.</p></body></html>".encode()


def _too_many(retry_after: float | None) -> Decision:
    return Decision(429, "Limite de requisições excedido. Tente novamente mais tarde.".encode(),
                    retry_after=retry_after)


def _scripted(token: str, config: FaultConfig) -> Decision:
    head, _, arg = str(token).partition(":")
    if head == "ok":
        return Decision(None)
    if head == "429":
        if arg:
            return _too_many(float(arg))
        return _too_many(config.retry_after if config.retry_after_header else None)
    if head == "empty":
        return Decision(200, b"", "application/json;charset=UTF-8")
    if head == "html":
        return Decision(200, _HTML, "text/html; charset=utf-8")
    if head == "slow":
        return Decision(None, delay=float(arg or config.slow_seconds or 1.0))
    if head == "400":
        return Decision(400, "Filtros mínimos não informados (falha simulada).".encode())
    if head == "401":
        return Decision(401, "Chave de API não informada.".encode())
    if head == "403":
        return Decision(403, "Acesso negado: chave de API inválida ou sem permissão.".encode())
    return Decision(int(head), b"Erro interno do servidor")


def corrupt(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` broken in one of four ways real feeds break (chosen by its id)."""
    broken = dict(record)
    variant = int(record.get("id") or 0) % 4
    if variant == 0:
        broken.pop("id", None)
    elif variant == 1:
        broken["dataAssinatura"] = "31/02/2024"
    elif variant == 2:
        broken["valorFinalCompra"] = "muitos reais"
    else:
        broken["unidadeGestora"] = "UG sem objeto"
    return broken
