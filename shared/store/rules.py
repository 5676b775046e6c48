"""The investigation state machine, as both backends apply it with one conditional UPDATE on status."""

from __future__ import annotations

from shared.domain import InvestigationStatus
from shared.store.models import Conflict, NotFound, StoreError

# operation -> (the status it sets, the statuses it may start from; the target itself = idempotent)
TRANSITIONS: dict[str, tuple[InvestigationStatus, frozenset[InvestigationStatus]]] = {
    "mark_running": (
        InvestigationStatus.RUNNING,
        frozenset({InvestigationStatus.PENDING, InvestigationStatus.RUNNING}),
    ),
    "fail_investigation": (
        InvestigationStatus.FAILED,
        frozenset({InvestigationStatus.PENDING, InvestigationStatus.RUNNING, InvestigationStatus.FAILED}),
    ),
    "cancel_investigation": (
        InvestigationStatus.CANCELLED,
        frozenset({InvestigationStatus.PENDING, InvestigationStatus.RUNNING, InvestigationStatus.CANCELLED}),
    ),
}
OPEN_STATUSES = (InvestigationStatus.PENDING, InvestigationStatus.RUNNING)


def refused_transition(operation: str, investigation_id: str, current: str | None) -> StoreError:
    if current is None:
        return NotFound(f"{operation}({investigation_id}): no such investigation")
    target = TRANSITIONS[operation][0]
    return Conflict(f"{operation}({investigation_id}): the investigation is {current}; it cannot become {target}")


def check_progress(investigation_id: str, progress: float) -> float:
    value = float(progress)
    if not (0.0 <= value <= 1.0):
        raise StoreError(f"set_progress({investigation_id}): progress must be within [0, 1], not {progress}")
    return value
