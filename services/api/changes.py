"""Committed changes to what the API shows, counted from PostgreSQL's notifications.

The migrations ``20261207000200_change_notifications.sql`` and
``20261207000400_scoped_change_notifications.sql`` make every write to investigations, findings
and contracts send a notification on ``vigia_changes`` when its transaction commits, saying what
it touched (see :func:`scopes_of`). Each gunicorn worker keeps one connection that LISTENs, in a
thread of its own, and counts what arrives: :attr:`ChangeFeed.generation` moves on with every
notification, and the feed remembers at which generation each *scope* last changed:
``investigations`` (any investigation row: every list page), ``orgao:<code>`` and
``indicator:<code>`` (the investigations of that órgão, or with a finding of that indicator:
the pages filtered by it) and ``inv:<id>`` (one investigation, its findings or its contract:
its detail). :mod:`services.api.pagecache` tags each page it keeps with the
generation it was built under and the scopes it shows, and serves it while none of those has
changed since (up to ``MAX_AGE_SECONDS``): while a sweep writes one órgão's investigations,
the other órgãos' pages and the details it does not touch are built once, not once a second.

When the notifications cannot be trusted the feed says so (:attr:`ChangeFeed.live` is false)
and the cache falls back to its one-second lifetime:

- the listening connection broke (it reconnects with backoff, and counts a change on
  reconnecting, since notifications sent meanwhile are lost);
- a notification it sends itself after LISTEN does not come back within ``PROBE_SECONDS``, as
  behind a pooler in transaction mode (Supabase's port 6543, PgBouncer), which lends a server
  connection for one transaction only, so a LISTEN does not outlive it. Session mode (Supabase's
  Session pooler, the deploy guide's ``DATABASE_URL``) keeps one server connection per client
  connection, so LISTEN works there (https://supabase.github.io/supavisor/configuration/pool_modes).
  It logs a warning once and stops trying;
- the store is not PostgreSQL (Supabase through PostgREST): no feed is started at all.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

log = logging.getLogger("vigia.api.changes")

CHANNEL = "vigia_changes"
PROBE_SECONDS = 3.0  # how long the probe notification may take to come back
PING_SECONDS = 30.0  # a quiet connection is checked this often, so a dead one is noticed
MAX_AGE_SECONDS = 60.0  # what the cache keeps at most even when nothing changed (see pagecache)
MAX_BACKOFF_SECONDS = 30.0
# Scopes remembered at most; past that the feed forgets them all and counts a change of everything
# (a sweep writes some thousands of investigations: each its detail's scope, and its órgão's and
# indicators', which they share).
MAX_SCOPES = 100_000

ANY = "*"  # the scope of a page that may show anything: any change ends it
INVESTIGATIONS = "investigations"
PROBE = "probe"  # the payload's first word in the feed's own probe: it names no scope


def orgao_scope(code: str) -> str:
    return f"orgao:{code}"


def indicator_scope(code: str) -> str:
    return f"indicator:{code}"


def detail_scope(investigation_id: str) -> str:
    return f"inv:{investigation_id}"


def scopes_of(payload: str) -> tuple[str, ...] | None:
    """The scopes a notification's payload says changed; None for everything (a TRUNCATE's ``*``,
    or a payload this version does not know, such as the table name 20261207000200 sent)."""
    kind, _, rest = payload.partition(" ")
    if kind == "i":  # "i <investigation id> <órgão code or empty> <its finding_indicators, comma-separated>"
        ident, orgao, indicators = (rest.split(" ", 2) + ["", ""])[:3]
        if ident:
            named = [indicator_scope(code) for code in indicators.split(",") if code]
            return INVESTIGATIONS, detail_scope(ident), orgao_scope(orgao), *named
    elif kind == "d" and rest:  # "d <investigation id>": a finding or the contract of it
        return (detail_scope(rest),)
    elif kind == PROBE:
        return ()
    return None


class ChangeFeed:
    """A thread that LISTENs on ``vigia_changes`` and counts notifications by scope."""

    def __init__(self, database_url: str, *, application_name: str = "vigia-web-changes",
                 probe_seconds: float = PROBE_SECONDS) -> None:
        self._url = database_url
        self._application_name = application_name
        self._probe_seconds = probe_seconds
        self.generation = 0  # one writer (the thread); readers only compare it
        self.live = False
        self._lock = threading.Lock()
        self._floor = 0  # a page built under an earlier generation may show anything changed since
        self._last: dict[str, int] = {}  # scope -> generation of its last change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ChangeFeed:
        self._thread = threading.Thread(target=self._run, name="vigia-change-feed", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=PING_SECONDS)
        self.live = False

    def wait_live(self, timeout: float) -> bool:
        """True once the feed is live (tests and start-up logs use it); False after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.live and time.monotonic() < deadline and not self._stop.is_set():
            self._stop.wait(0.02)
        return self.live

    def unchanged_since(self, generation: int, scopes: tuple[str, ...]) -> bool:
        """Whether the feed is live and nothing in ``scopes`` changed after ``generation`` (the
        :attr:`generation` read before a page showing them was built). The scope :data:`ANY`
        changes with everything."""
        with self._lock:
            return (self.live and generation >= self._floor
                    and all(self._last.get(scope, 0) <= generation for scope in scopes))

    def record(self, payload: str | None = None) -> None:
        """Count one notification (``payload``), or, with None, a change of everything."""
        scopes = None if payload is None else scopes_of(payload)
        with self._lock:
            self.generation += 1
            for scope in (ANY, *(scopes or ())):
                self._last[scope] = self.generation
            if scopes is None or len(self._last) > MAX_SCOPES:
                self._floor = self.generation
                self._last = {ANY: self.generation}

    def _run(self) -> None:
        backoff = 1.0
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                return  # stopped, or the probe showed notifications do not arrive
            except Exception as error:  # psycopg.Error, or an OS error under it
                was_live, self.live = self.live, False
                self.record()  # what was sent while the connection was down is lost
                failures += 1
                if was_live or failures == 1:
                    log.warning("change notifications lost (%s); pages are kept 1 s until they are back", error)
                self._stop.wait(backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self._url, autocommit=True, connect_timeout=5, application_name=self._application_name,
                             keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            if not self._probe(conn):
                log.warning(
                    "change notifications do not reach this connection (a pooler in transaction mode, such as "
                    "Supabase's port 6543?); pages are kept 1 s. Point DATABASE_URL at a direct or session-mode "
                    "connection to keep them until they change")
                return
            self.record()
            self.live = True
            log.info("change notifications on: pages are kept until what they show changes")
            quiet_since = time.monotonic()
            while not self._stop.is_set():
                arrived = False
                for notify in conn.notifies(timeout=1.0):
                    self.record(notify.payload)
                    arrived = True
                if arrived:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > PING_SECONDS:
                    conn.execute("SELECT 1")  # raises on a dead connection: reconnect
                    quiet_since = time.monotonic()
        self.live = False

    def _probe(self, listening: Any) -> bool:
        """Send a notification from another connection and wait for it on ``listening``."""
        import psycopg

        token = f"{PROBE} {uuid.uuid4().hex}"  # other workers' feeds end only pages of ANY on it
        with psycopg.connect(self._url, autocommit=True, connect_timeout=5,
                             application_name=self._application_name) as sender:
            sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, token))
        deadline = time.monotonic() + self._probe_seconds
        while time.monotonic() < deadline:
            for notify in listening.notifies(timeout=max(0.0, deadline - time.monotonic())):
                if notify.payload == token:
                    return True
        return False
