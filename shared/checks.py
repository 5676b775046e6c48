"""One check result and one status vocabulary, for the hourly health check, the API's readiness
probe and ``vigia doctor``.

A :class:`Check` names what was checked, its :data:`CheckStatus` and a detail; ``vigia doctor``
adds the question a person asks (``title``) and what to do when it failed (``fix``). Statuses rank
``ok`` < ``degraded`` < ``unhealthy``; ``skipped`` (not configured, or does not apply here) ranks
as ``ok``. Degraded means the deployment works with less (summaries fall back, a sweep retries
later); unhealthy means nothing can run (Redis or the database down, the schema missing).

Each consumer keeps the words its readers already know: the health report stores the status
itself (:meth:`Check.as_dict`), and ``vigia doctor`` prints the :attr:`Check.verdict` a person
acts on — ``pass``, ``fail`` (degraded or unhealthy) or ``skip``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

CheckStatus = Literal["ok", "degraded", "unhealthy", "skipped"]
Verdict = Literal["pass", "fail", "skip"]

RANK: dict[CheckStatus, int] = {"ok": 0, "skipped": 0, "degraded": 1, "unhealthy": 2}
_VERDICTS: dict[CheckStatus, Verdict] = {"ok": "pass", "skipped": "skip", "degraded": "fail", "unhealthy": "fail"}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: CheckStatus
    detail: str
    latency_ms: float | None = None
    title: str = ""  # the question it answers, for a person (vigia doctor)
    fix: str = ""  # what to do when it failed

    @property
    def failed(self) -> bool:
        return RANK[self.status] > 0

    @property
    def verdict(self) -> Verdict:
        return _VERDICTS[self.status]

    def as_dict(self) -> dict[str, Any]:
        """The health report's form of a check: status, detail and (when measured) latency."""
        data: dict[str, Any] = {"status": self.status, "detail": self.detail}
        if self.latency_ms is not None:
            data["latency_ms"] = self.latency_ms
        return data


def worst(checks: Iterable[Check]) -> CheckStatus:
    """The most serious status among ``checks`` (``ok`` when there are none)."""
    return max((check.status for check in checks), key=RANK.__getitem__, default="ok")
