"""Request models refuse what the database could not store, naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.api.schemas.investigations import FeedbackRequest, InvestigationRequest


@pytest.mark.parametrize("note", ["a\x00b", "bell\x07", "half \ud800 pair", ""])
def test_it_refuses_notes_the_database_cannot_store(note: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FeedbackRequest.model_validate({"label": "uncertain", "note": note})
    assert caught.value.errors()[0]["loc"] == ("note",)


def test_it_keeps_ordinary_notes_with_accents_and_newlines() -> None:
    body = FeedbackRequest.model_validate({"label": "true_positive", "note": "Empresa sancionada.\nVerificar ção 🙂"})
    assert body.note == "Empresa sancionada.\nVerificar ção 🙂"


def test_it_refuses_unknown_fields_and_labels() -> None:
    with pytest.raises(ValidationError):
        FeedbackRequest.model_validate({"label": "maybe"})
    with pytest.raises(ValidationError):
        FeedbackRequest.model_validate({"label": "uncertain", "extra": 1})
    with pytest.raises(ValidationError):
        InvestigationRequest.model_validate({"contract_id": 1, "priority": "high"})


@pytest.mark.parametrize("contract_id", [0, -1, 2**53, 2**63])
def test_it_refuses_contract_ids_out_of_range(contract_id: int) -> None:
    with pytest.raises(ValidationError) as caught:
        InvestigationRequest.model_validate({"contract_id": contract_id})
    assert caught.value.errors()[0]["loc"] == ("contract_id",)


@pytest.mark.parametrize("orgao", ["2600", "260000", "26a00", "２６０００"])
def test_it_refuses_orgao_codes_that_are_not_five_digits(orgao: str) -> None:
    with pytest.raises(ValidationError):
        InvestigationRequest.model_validate({"orgao_codigo": orgao, "window_start": "2024-01-01", "window_end": "2024-01-31"})
