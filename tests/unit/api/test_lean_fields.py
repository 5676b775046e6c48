"""The JSON PostgreSQL writes for the list names InvestigationOut's fields, in its order."""

from __future__ import annotations

from services.api.schemas.investigations import InvestigationOut
from shared.store.postgres.pages import FIELDS


def test_it_writes_every_field_of_the_response_model_in_its_order() -> None:
    assert FIELDS == list(InvestigationOut.model_fields)
