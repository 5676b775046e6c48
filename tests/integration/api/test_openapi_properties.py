"""Property-based run of the published OpenAPI schema with schemathesis, over real HTTP to gunicorn.

Hypothesis generates valid and invalid requests for every operation from ``/openapi.json``; each
response must not be a 5xx, must have a documented status and content type, must match its
declared schema, and invalid input must be refused with a 4xx. The number of cases is printed.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from shared.domain import Severity
from shared.store.base import Store
from tests.integration.api.conftest import WRITE_KEY, WebServer, seed_investigation

log = logging.getLogger("vigia.tests.api")  # ``pytest --log-cli-level=INFO`` shows the counts

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
MAX_EXAMPLES = 400  # per generation mode over all operations, plus a quarter per mode for the fixed-id runs


def test_it_answers_every_generated_request_without_5xx_and_as_the_schema_says(
    web_server: WebServer, store: Store, orgao: str
) -> None:
    # Real rows, so list and report responses carry findings, contracts and runs to validate.
    seeded = [seed_investigation(store, orgao, risk=risk, findings=[("direct_award", Severity.HIGH)]) for risk in (0.2, 0.7)]
    schema = schemathesis.openapi.from_url(f"{web_server.base_url}/openapi.json")
    counts: Counter[str] = Counter()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        _run(schema.as_strategy(generation_mode=mode), mode, counts, MAX_EXAMPLES)
    # Random UUIDs only ever reach the 404 branch; fix the id to a stored investigation so the
    # detail and feedback responses (201, a finding of another investigation) are generated too.
    stored_id = {"investigation_id": seeded[0].investigation.id}
    # (The detail has nothing left to negate once its only parameter is fixed.)
    for path, method, modes in (
        ("/api/v1/investigations/{investigation_id}", "GET", (GenerationMode.POSITIVE,)),
        ("/api/v1/investigations/{investigation_id}/feedback", "POST", (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)),
    ):
        operation = schema[path][method]
        for mode in modes:
            _run(operation.as_strategy(generation_mode=mode, path_parameters=stored_id), mode, counts, MAX_EXAMPLES // 4)

    total = sum(counts.values())
    log.info("schemathesis: %d cases over %d operations\n%s", total, len(list(schema.get_all_operations())),
             "\n".join(f"  {value:5d}  {key}" for key, value in sorted(counts.items())))
    assert total >= MAX_EXAMPLES  # the run really generated cases
    statuses = {key.rsplit(" ", 1)[-1] for key in counts}
    assert {"200", "201", "202"} <= statuses, "some success path was never reached"


def _run(strategy: SearchStrategy[schemathesis.Case], mode: GenerationMode, counts: Counter[str], examples: int) -> None:
    @seed(20250601)
    @hypothesis_settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers={"X-API-Key": WRITE_KEY}, checks=CHECKS, timeout=30)
        counts[f"{mode.value} {case.operation.label} {response.status_code}"] += 1

    run()


def test_it_serves_stored_investigations_as_the_schema_says(web_server: WebServer, store: Store, orgao: str) -> None:
    seeded = seed_investigation(store, orgao, findings=[("direct_award", Severity.HIGH), ("late_publication", Severity.LOW)])
    schema = schemathesis.openapi.from_url(f"{web_server.base_url}/openapi.json")
    operation = schema["/api/v1/investigations/{investigation_id}"]["GET"]
    case = operation.Case(path_parameters={"investigation_id": seeded.investigation.id})
    response = case.call_and_validate(checks=CHECKS, timeout=30)
    assert response.status_code == 200
    assert len(response.json()["findings"]) == 2
