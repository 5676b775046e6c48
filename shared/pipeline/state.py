"""Progress that must outlive a killed worker, kept in Redis (the broker, so ``noeviction``).

Three kinds of state, all with a TTL so nothing accumulates:

* :class:`RunState` — one monitoring run's fan-out: how many parts (órgãos) it has, which were
  dispatched, which finished or failed. The part whose finish completes the set closes the run,
  so no chord or result backend has to survive a restart.
* :class:`SweepState` — one sweep of one órgão within a run: the next page to fetch, counters per
  batch of pages (written once per batch, so a re-fetched batch is not counted twice), the sets
  of contracts flagged and investigations written, and a lease so two copies of one sweep (a
  redelivery racing a continuation) do not both work.
* :class:`OrgaoQueue` — per órgão, across runs: the contracts whose upsert may have happened
  (``wal``, written *before* the upsert) and those that still need analysis (``pending``). A
  sweep that dies between upserting a batch and analysing it leaves the ids here, and the next
  attempt — or the next run — analyses them: a stored contract is never skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from shared import redis_keys

STATE_TTL_SECONDS = 7 * 24 * 3600
SUMMARY_KINDS = ("groq", "template")
QUEUE_TTL_SECONDS = 30 * 24 * 3600
# A sweep pages (and upserts) first, then analyses what it stored.
Phase = Literal["paging", "analysis"]

_FINISH_PART = """
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 and ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
local total = tonumber(redis.call('HGET', KEYS[3], 'total') or '-1')
return {added, redis.call('SCARD', KEYS[1]), total}
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _ints(values: Iterable[Any]) -> list[int]:
    return sorted(int(v) for v in values)


def task_run(redis: Any, task_id: str | None) -> int | None:
    """The run a task (by Celery task id) opened, if it opened one."""
    if not task_id:
        return None
    value = redis.get(f"{redis_keys.TASK_RUN}{task_id}")
    return int(value) if value is not None else None


def remember_task_run(redis: Any, task_id: str | None, run_id: int) -> int:
    """Bind ``run_id`` to the task; returns the run already bound when another attempt won."""
    if not task_id:
        return run_id
    key = f"{redis_keys.TASK_RUN}{task_id}"
    if redis.set(key, run_id, nx=True, ex=STATE_TTL_SECONDS):
        return run_id
    return int(redis.get(key))


class RunState:
    def __init__(self, redis: Any, run_id: int) -> None:
        self.redis = redis
        self.run_id = int(run_id)
        base = f"{redis_keys.RUN}{self.run_id}"
        self.key, self.done_key, self.failed_key = base, base + ":done", base + ":failed"
        self.dispatched_key, self.closing_key = base + ":dispatched", base + ":closing"
        self.counted_key = base + ":counted"

    def plan(self, parts: Iterable[str], **fields: Any) -> None:
        """Record the parts once; a redelivered fan-out keeps the first plan."""
        parts = list(parts)
        pipe = self.redis.pipeline()
        pipe.hsetnx(self.key, "total", len(parts))
        for name, value in fields.items():
            pipe.hsetnx(self.key, name, json.dumps(value, default=str))
        pipe.expire(self.key, STATE_TTL_SECONDS)
        pipe.execute()

    def total(self) -> int | None:
        value = self.redis.hget(self.key, "total")
        return int(value) if value is not None else None

    def field(self, name: str) -> Any:
        value = self.redis.hget(self.key, name)
        return json.loads(value) if value is not None else None

    def was_dispatched(self, part: str) -> bool:
        return bool(self.redis.sismember(self.dispatched_key, part))

    def mark_dispatched(self, part: str) -> None:
        pipe = self.redis.pipeline()
        pipe.sadd(self.dispatched_key, part)
        pipe.expire(self.dispatched_key, STATE_TTL_SECONDS)
        pipe.execute()

    def is_done(self, part: str) -> bool:
        return bool(self.redis.sismember(self.done_key, part))

    def finish_part(self, part: str, error: str | None = None) -> tuple[bool, int, int]:
        """Mark ``part`` finished (failed when ``error``): (first time?, parts done, parts planned)."""
        added, done, total = self.redis.eval(
            _FINISH_PART, 3, self.done_key, self.failed_key, self.key, part, error or "", STATE_TTL_SECONDS
        )
        return bool(added), int(done), int(total)

    def progress(self) -> tuple[int, int | None]:
        return int(self.redis.scard(self.done_key)), self.total()

    def failures(self) -> dict[str, str]:
        raw = self.redis.hgetall(self.failed_key)
        return {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                for k, v in raw.items()}

    def claim_close(self, seconds: int = 120) -> bool:
        """Only one closer at a time; a closer that died frees the claim after ``seconds``."""
        return bool(self.redis.set(self.closing_key, "1", nx=True, ex=seconds))

    def release_close(self) -> None:
        """A closer that failed (the database away) frees the claim now, for its retry."""
        self.redis.delete(self.closing_key)

    def claim_counters(self, part: str) -> bool:
        """Reserve adding ``part``'s counters to the run; False when an earlier attempt did, or
        died while doing it (its counters are then lost rather than counted twice)."""
        pipe = self.redis.pipeline()
        pipe.sadd(self.counted_key, part)
        pipe.expire(self.counted_key, STATE_TTL_SECONDS)
        return bool(pipe.execute()[0])

    def release_counters(self, part: str) -> None:
        """The counters could not be added (the database away): the next attempt adds them."""
        self.redis.srem(self.counted_key, part)


class SweepState:
    def __init__(self, redis: Any, run_id: int, part: str) -> None:
        self.redis = redis
        base = f"{redis_keys.SWEEP}{int(run_id)}:{part}"
        self.key, self.lease_key = base, base + ":lease"
        self.flagged_key, self.written_key, self.created_key = base + ":flagged", base + ":written", base + ":created"
        self.analyzed_key = base + ":analyzed"

    # -- lease ------------------------------------------------------------------------------
    def acquire(self, owner: str, seconds: int) -> bool:
        """Take the lease (or keep it, for the same owner); False when another copy holds it."""
        if self.redis.set(self.lease_key, owner, nx=True, ex=seconds):
            return True
        current = self.redis.get(self.lease_key)
        if current is not None and (current.decode() if isinstance(current, bytes) else current) == owner:
            self.redis.expire(self.lease_key, seconds)
            return True
        return False

    def lease_left(self) -> int:
        """Seconds until the lease expires (0 when free)."""
        return max(0, int(self.redis.ttl(self.lease_key)))

    def release(self, owner: str) -> None:
        self.redis.eval(_RELEASE, 1, self.lease_key, owner)

    # -- paging -----------------------------------------------------------------------------
    def cursor(self) -> int:
        value = self.redis.hget(self.key, "cursor")
        return int(value) if value is not None else 1

    def phase(self) -> Phase:
        value = self.redis.hget(self.key, "phase")
        return "analysis" if value in (b"analysis", "analysis") else "paging"

    def error(self) -> str | None:
        value = self.redis.hget(self.key, "error")
        return (value.decode() if isinstance(value, bytes) else value) if value else None

    def set_phase(self, phase: Phase, *, error: str | None = None) -> None:
        pipe = self.redis.pipeline()
        pipe.hset(self.key, "phase", phase)
        if error:
            pipe.hset(self.key, "error", error[:500])
        pipe.expire(self.key, STATE_TTL_SECONDS)
        pipe.execute()

    def record_batch(self, first_page: int, next_page: int, counters: dict[str, int]) -> None:
        """A batch of pages is stored: count it once and move the cursor past it."""
        pipe = self.redis.pipeline()
        pipe.hsetnx(self.key, f"batch:{first_page}", json.dumps(counters))
        pipe.hset(self.key, "cursor", next_page)
        pipe.expire(self.key, STATE_TTL_SECONDS)
        pipe.execute()

    # -- analysis ---------------------------------------------------------------------------
    def record_analysis(self, analyzed: Iterable[int], flagged: Iterable[int], written: Iterable[str],
                        created: Iterable[str], summarized: Mapping[str, Iterable[str]] | None = None) -> None:
        """Sets, not sums: a chunk analysed twice (a redelivery) is counted once."""
        pipe = self.redis.pipeline()
        summaries = [(f"{self.key}:summaries:{kind}", list(ids)) for kind, ids in (summarized or {}).items()]
        sets: list[tuple[str, list[int] | list[str]]] = [
            (self.analyzed_key, list(analyzed)), (self.flagged_key, list(flagged)),
            (self.written_key, list(written)), (self.created_key, list(created)), *summaries,
        ]
        for key, values in sets:
            if values:
                pipe.sadd(key, *values)
            pipe.expire(key, STATE_TTL_SECONDS)
        pipe.execute()

    def batch_counters(self) -> dict[str, int]:
        """The counters of every recorded batch of pages, summed."""
        totals: dict[str, int] = {}
        for name, value in self.redis.hgetall(self.key).items():
            name = name.decode() if isinstance(name, bytes) else name
            if name.startswith("batch:"):
                for counter, amount in json.loads(value).items():
                    totals[counter] = totals.get(counter, 0) + int(amount)
        return totals

    def mark(self, name: str, member: str) -> bool:
        """Add ``member`` to a named set of this sweep (e.g. órgãos re-analysed); False if present."""
        key = f"{self.key}:{name}"
        pipe = self.redis.pipeline()
        pipe.sadd(key, member)
        pipe.expire(key, STATE_TTL_SECONDS)
        return bool(pipe.execute()[0])

    def marked(self, name: str) -> set[str]:
        return {m.decode() if isinstance(m, bytes) else m for m in self.redis.smembers(f"{self.key}:{name}")}

    def counters(self) -> dict[str, int]:
        """The sweep's totals: batch counters summed, analysis sets counted."""
        totals = self.batch_counters()
        pipe = self.redis.pipeline()
        for key in (self.analyzed_key, self.flagged_key, self.written_key, self.created_key):
            pipe.scard(key)
        for kind in SUMMARY_KINDS:
            pipe.scard(f"{self.key}:summaries:{kind}")
        analyzed, flagged, written, created, *summaries = pipe.execute()
        totals.update(analyzed=analyzed, flagged=flagged, investigations_written=written,
                      investigations_created=created)
        totals.update({f"summaries_{kind}": n for kind, n in zip(SUMMARY_KINDS, summaries, strict=True) if n})
        return totals


class OrgaoQueue:
    """Contracts of one órgão (and source) that may have been stored but not yet analysed."""

    def __init__(self, redis: Any, source: str, orgao: str) -> None:
        self.redis = redis
        base = f"{redis_keys.ANALYSIS}{source}:{orgao}"
        self.wal_key, self.pending_key, self.changed_key = base + ":wal", base + ":pending", base + ":changed"

    def recover(self) -> int:
        """Move ids left in the write-ahead set (an upsert that may have happened) to pending."""
        leftover = self.redis.smembers(self.wal_key)
        if not leftover:
            return 0
        pipe = self.redis.pipeline()
        pipe.sadd(self.pending_key, *leftover)
        pipe.srem(self.wal_key, *leftover)
        pipe.expire(self.pending_key, QUEUE_TTL_SECONDS)
        pipe.execute()
        return len(leftover)

    def before_upsert(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if ids:
            pipe = self.redis.pipeline()
            pipe.sadd(self.wal_key, *ids)
            pipe.expire(self.wal_key, QUEUE_TTL_SECONDS)
            pipe.execute()

    def after_upsert(self, ids: Iterable[int], to_analyze: Iterable[int], changed: Iterable[int]) -> None:
        """In one transaction: the batch's new/changed ids become pending, the batch leaves the wal."""
        ids, to_analyze, changed = list(ids), list(to_analyze), list(changed)
        pipe = self.redis.pipeline(transaction=True)
        if to_analyze:
            pipe.sadd(self.pending_key, *to_analyze)
        if changed:
            pipe.sadd(self.changed_key, *changed)
        if ids:
            pipe.srem(self.wal_key, *ids)
        pipe.expire(self.pending_key, QUEUE_TTL_SECONDS)
        pipe.expire(self.changed_key, QUEUE_TTL_SECONDS)
        pipe.execute()

    def pending(self) -> list[int]:
        return _ints(self.redis.smembers(self.pending_key))

    def changed(self) -> set[int]:
        return set(_ints(self.redis.smembers(self.changed_key)))

    def done(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if ids:
            pipe = self.redis.pipeline(transaction=True)
            pipe.srem(self.pending_key, *ids)
            pipe.srem(self.changed_key, *ids)
            pipe.execute()
