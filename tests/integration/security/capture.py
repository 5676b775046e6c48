"""Everything a deployment writes, collected as text so a test can look for secrets in it.

* :class:`RedisMonitor` records every command any client sends to a Redis server (its
  ``MONITOR`` stream, read over a raw socket): task messages as they are queued, results as they
  are stored, events, RedBeat entries, rate-limiter calls. Celery's Redis transport stores a task's
  body base64-encoded, so :func:`readable` decodes every kombu message it meets: a secret in a
  task argument is found whether or not it was encoded.
* :func:`redis_dump` reads every key left in every database of the server, whatever its type.
* :func:`table_dump` prints every row of every table of a database as text.
* :func:`find_secrets` says where any secret value occurs, without repeating the value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
import redis

_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b", "\\": b"\\", '"': b'"'}
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]{16,}$")


def monitor_arguments(line: str) -> list[bytes]:
    """The arguments of one ``MONITOR`` line (``<time> [<db> <client>] "SET" "k" "v"``), unescaped.

    Redis prints each argument quoted, with ``\\"``, ``\\\\``, ``\\n`` ... and ``\\xHH`` escapes.
    """
    start = line.find("] ")
    text = line[start + 2 :] if start >= 0 else line
    args: list[bytes] = []
    i = 0
    while i < len(text):
        if text[i] != '"':
            i += 1
            continue
        i += 1
        current = bytearray()
        while i < len(text) and text[i] != '"':
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                code = text[i + 1]
                if code == "x" and i + 3 < len(text):
                    current += bytes([int(text[i + 2 : i + 4], 16)])
                    i += 4
                    continue
                current += _ESCAPES.get(code, code.encode())
                i += 2
                continue
            current += char.encode("utf-8")
            i += 1
        args.append(bytes(current))
        i += 1
    return args


def _decoded_bodies(value: Any) -> Iterator[str]:
    """The decoded ``body`` of every kombu message inside a JSON value, recursively."""
    if isinstance(value, dict):
        body = value.get("body")
        properties = value.get("properties")
        if isinstance(body, str) and isinstance(properties, dict) and properties.get("body_encoding") == "base64":
            try:
                decoded = base64.b64decode(body).decode("utf-8", errors="replace")
            except (binascii.Error, ValueError):
                decoded = ""
            yield decoded
            yield from _json_texts(decoded)
        for item in value.values():
            yield from _decoded_bodies(item)
    elif isinstance(value, list):
        for item in value:
            yield from _decoded_bodies(item)


def _json_texts(text: str) -> Iterator[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return
    yield from _decoded_bodies(value)


def readable(raw: bytes) -> str:
    """``raw`` as text, followed by every message body it carries, decoded."""
    text = raw.decode("utf-8", errors="replace")
    parts = [text, *_json_texts(text)]
    if _BASE64.match(text):  # a bare base64 value (a body stored on its own)
        try:
            parts.append(base64.b64decode(text, validate=False).decode("utf-8", errors="replace"))
        except (binascii.Error, ValueError):
            pass
    return "\n".join(parts)


@dataclass
class RedisMonitor:
    """Records every command sent to the Redis at ``url`` from :meth:`start` to :meth:`stop`."""

    url: str
    lines: list[str] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None

    def start(self) -> RedisMonitor:
        pool = redis.ConnectionPool.from_url(self.url)
        options = pool.connection_kwargs
        pool.disconnect()
        self._sock = socket.create_connection((options.get("host", "127.0.0.1"), int(options.get("port", 6379))), 10)
        commands = []
        if options.get("password"):
            commands.append([b"AUTH", str(options["password"]).encode()])
        commands.append([b"MONITOR"])
        for command in commands:
            wire = b"*%d\r\n" % len(command) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in command)
            self._sock.sendall(wire)
        reader = self._sock.makefile("rb")
        for _ in commands:
            answer = reader.readline()
            if not answer.startswith(b"+OK"):
                raise RuntimeError(f"Redis refused MONITOR: {answer!r}")
        self._sock.settimeout(None)

        def read() -> None:
            for raw in iter(reader.readline, b""):
                self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\r\n").lstrip("+"))

        self._thread = threading.Thread(target=read, name="redis-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        if self._thread is not None:
            self._thread.join(10)

    def commands(self) -> Iterator[list[bytes]]:
        for line in list(self.lines):
            yield monitor_arguments(line)

    def texts(self) -> Iterator[str]:
        """One text per command: its arguments and every message body they carry, decoded."""
        for args in self.commands():
            yield "\n".join(readable(arg) for arg in args)


def redis_dump(url: str) -> list[str]:
    """Every key of every database on the server at ``url``, with its value, as text."""
    client = redis.Redis.from_url(url)
    texts: list[str] = []
    try:
        databases = [int(name[2:]) for name in client.info("keyspace")]
    finally:
        client.close()
    for number in databases:
        db = redis.Redis.from_url(url, db=number)
        try:
            for key in db.scan_iter(count=500):
                kind = db.type(key).decode()
                values: Iterable[bytes]
                if kind == "string":
                    values = [db.get(key) or b""]
                elif kind == "list":
                    values = db.lrange(key, 0, -1)
                elif kind == "hash":
                    values = [b for pair in db.hgetall(key).items() for b in pair]
                elif kind == "set":
                    values = list(db.smembers(key))
                elif kind == "zset":
                    values = [member for member, _ in db.zrange(key, 0, -1, withscores=True)]
                else:  # streams and modules: their raw dump still shows any plain value
                    values = [db.dump(key) or b""]
                texts.append(f"db{number} {kind} " + readable(key) + "\n" + "\n".join(readable(v) for v in values))
        finally:
            db.close()
    return texts


def table_dump(database_url: str) -> dict[str, list[str]]:
    """Every row of every table in the ``public`` schema, one text per row, by table."""
    dump: dict[str, list[str]] = {}
    with psycopg.connect(database_url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        for table in tables:
            rows = conn.execute(f'SELECT t::text FROM public."{table}" AS t').fetchall()  # noqa: S608
            dump[table] = [row[0] for row in rows]
    return dump


@dataclass(frozen=True)
class Leak:
    secret: str  # the secret's name, never its value
    where: str
    context: str  # the text around it, with the value replaced by <NAME>


def find_secrets(sources: Iterable[tuple[str, str]], secrets: Mapping[str, str]) -> list[Leak]:
    """Every place where a secret value occurs in ``(where, text)`` pairs."""
    leaks: list[Leak] = []
    for where, text in sources:
        found = [name for name, value in secrets.items() if value in text]
        if not found:
            continue
        masked = text
        for name, value in sorted(secrets.items(), key=lambda item: len(item[1]), reverse=True):
            masked = masked.replace(value, f"<{name}>")
        for name in found:
            at = masked.find(f"<{name}>")
            context = masked[max(0, at - 120) : at + len(name) + 122] if at >= 0 else "(inside a longer secret)"
            leaks.append(Leak(name, where, context))
    return leaks
