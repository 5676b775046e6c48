"""Every Redis key Vigia writes, by owner, so no two modules can claim or misspell the same one.

All start with ``vigia:``, so a Redis shared with another application keeps them apart. A key
ending in ``:`` is a prefix: the owner appends the id it names.
"""

from __future__ import annotations

# Pipeline state (shared.pipeline.state): a task's run, a run's parts, a sweep part, an órgão's analysis.
TASK_RUN = "vigia:task-run:"  # + Celery task id -> run id
RUN = "vigia:run:"  # + run id
SWEEP = "vigia:sweep:"  # + run id + ":" + part
ANALYSIS = "vigia:analysis:"  # + source + ":" + órgão
ORGAOS_CACHE = "vigia:cache:orgaos-siafi"

# The Portal's shared request budget (shared.portal.ratelimit).
PORTAL_RATE = "vigia:portal:rate"

# Health and alerts (shared.pipeline.health, shared.observability).
HEALTH_FIRST_SEEN = "vigia:health:first_seen"
HEALTH_LAST_STATUS = "vigia:alerts:health:last-status"
ALERT_DEDUP = "vigia:alert:"  # + the alert's de-duplication key

# Liveness: each worker's heartbeat, RedBeat's schedule and the lock only one beat holds.
WORKER_HEARTBEAT = "vigia:heartbeat:worker:"  # + worker hostname
REDBEAT = "vigia:redbeat:"  # + schedule entry name
REDBEAT_LOCK = "vigia:redbeat::lock"

# The API: per-client rate limits, per-key daily quotas, summaries shared between web workers.
API_RATE_LIMIT = "vigia:ratelimit"
API_QUOTA = "vigia:quota"
API_SUMMARY = "vigia:summary:"  # + the summary's name: its last answer and when it was computed
API_SUMMARY_LOCK = "vigia:summary-lock:"  # + the summary's name: held by the worker aggregating it
