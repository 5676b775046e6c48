"""A micro-cache of list pages and investigations: the same request within
``API_LIST_CACHE_SECONDS`` (1 s) gets the bytes the previous one produced, without the database.

Public traffic is mostly the same few pages (the newest investigations, one órgão's); a second
of staleness costs nobody anything and turns a burst of identical reads into one query per
second per worker. Keys are the request's query string (or the investigation id); at most
``max_entries`` are kept, the oldest dropped first. ``API_LIST_CACHE_SECONDS=0`` turns it off.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class PageCache:
    def __init__(self, ttl_seconds: float, *, max_entries: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry[0] >= self.ttl_seconds:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: str, body: bytes) -> None:
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock(), body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
