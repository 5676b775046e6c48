"""``/stats`` and ``/orgaos`` from a short in-process cache instead of aggregating on every call.

Both aggregate whole tables (a million investigations take the database most of a second), so
each gunicorn worker keeps the last answer for ``API_SUMMARY_TTL_SECONDS``. Past that age the
first caller starts one refresh in the background and everyone, that caller included, keeps the
previous answer until the new one lands: a reader waits for the database only on the very first
call of a worker. At most one refresh per key runs at a time, so a burst of readers costs one
aggregate, not one each. ``API_SUMMARY_TTL_SECONDS=0`` reads through on every call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("vigia.api.summaries")


@dataclass
class _Entry:
    value: Any
    stored_at: float


class SummaryCache:
    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()
        self._first_loads: dict[str, threading.Lock] = {}

    def peek(self, key: str) -> Any | None:
        """The cached value when one is there (a stale one starts no refresh here: ``get`` does);
        None when the caller must go through :meth:`get`."""
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (self._clock() - entry.stored_at >= self.ttl_seconds and key not in self._refreshing):
                return None
            return entry.value

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        if self.ttl_seconds <= 0:
            return load()
        with self._lock:
            entry = self._entries.get(key)
            stale = entry is not None and self._clock() - entry.stored_at >= self.ttl_seconds
            start_refresh = stale and key not in self._refreshing
            if start_refresh:
                self._refreshing.add(key)
            first = self._first_loads.setdefault(key, threading.Lock())
        if entry is not None:
            if start_refresh:
                threading.Thread(target=self._refresh, args=(key, load), name=f"summary-{key}", daemon=True).start()
            return entry.value
        # Nothing cached yet: one caller loads, the others wait for its answer.
        with first:
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None:
                return entry.value
            value = load()
            self._store(key, value)
            return value

    def _store(self, key: str, value: Any) -> None:
        with self._lock:
            self._entries[key] = _Entry(value, self._clock())

    def _refresh(self, key: str, load: Callable[[], Any]) -> None:
        try:
            self._store(key, load())
        except Exception as error:  # readers keep the previous answer; the next stale read retries
            log.warning("refreshing the %s summary failed: %s", key, error)
        finally:
            with self._lock:
                self._refreshing.discard(key)
