"""``POST /api/v1/investigations/{id}/feedback``: a person's verdict on an investigation or one finding.

Labels feed the training data set (``vigia.maintenance.build_training_dataset``). The author is
recorded as a hash of the API key that sent the label, so labels can be traced without storing keys.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.api.auth import require_write_key
from services.api.deps import get_store
from services.api.errors import error_responses
from services.api.routes.investigations import InvestigationId
from services.api.schemas.investigations import FeedbackOut, FeedbackRequest, from_feedback
from shared.config import Settings
from shared.store.base import Store


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/investigations", tags=["feedback"])

    @router.post(
        "/{investigation_id}/feedback",
        status_code=201,
        response_model=FeedbackOut,
        responses=error_responses(400, 401, 403, 404, 413, 422, 503),
        summary="Label an investigation, or one of its findings, as true positive, false positive or uncertain",
    )
    def record_feedback(
        investigation_id: InvestigationId,
        body: FeedbackRequest,
        store: Annotated[Store, Depends(get_store)],
        caller: Annotated[str, Depends(require_write_key)],
    ) -> FeedbackOut:
        # The store raises NotFound (-> 404) for an unknown investigation or a finding not in it.
        feedback = store.record_feedback(
            str(investigation_id), label=body.label, finding_id=body.finding_id, note=body.note, author=caller
        )
        return from_feedback(feedback)

    return router
