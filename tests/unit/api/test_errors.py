"""Validation errors become one entry per field, in words a caller can act on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.api.errors import _public_message, describe_validation_errors
from services.api.schemas.investigations import FeedbackRequest, InvestigationRequest
from shared.store.base import NotFound


def _problems(model: type, data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    errors = [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]
    return [(p.field, p.problem) for p in describe_validation_errors(errors)]


def test_it_explains_pattern_mismatches_in_words() -> None:
    assert _problems(InvestigationRequest, {"orgao_codigo": "26 000"}) == [
        ("body.orgao_codigo", "must be a SIAFI órgão code of 5 digits, e.g. 26000")
    ]
    assert _problems(FeedbackRequest, {"label": "uncertain", "note": "a\x00b"}) == [
        ("body.note", "must not contain control characters")
    ]


def test_it_names_a_json_syntax_error_as_the_body() -> None:
    problems = describe_validation_errors(
        [{"type": "json_invalid", "loc": ("body", 14), "msg": "JSON decode error", "ctx": {"error": "Expecting value"}}]
    )
    assert [(p.field, p.problem) for p in problems] == [("body", "is not valid JSON (Expecting value)")]


def test_it_drops_the_databases_context_lines_from_store_messages() -> None:
    error = NotFound("record_feedback(abc): finding 9 is not a finding of investigation abc CONTEXT: PL/pgSQL function x")
    assert _public_message(error) == "record_feedback(abc): finding 9 is not a finding of investigation abc"
