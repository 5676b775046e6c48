"""The summary writer against a Groq stand-in speaking the real wire format over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import pytest

from shared.config import GROQ_DEFAULT_MODEL, Settings
from shared.domain import Contract, Finding, Severity, Source
from shared.llm import TEMPLATE_SOURCE, SummaryWriter
from tests.support.groq import KEY, MODEL, Reply, groq_standin

FINDINGS = [
    Finding(indicator="price_outlier", severity=Severity.HIGH, score=0.82, subject_type="contract",
            subject_id="501", explanation="valor acima do esperado", contract_id=501,
            value=250000.0, threshold=120000.0, baseline={"mediana": 80000.0, "n": 40}),
    Finding(indicator="sanctioned_supplier", severity=Severity.CRITICAL, score=1.0, subject_type="contract",
            subject_id="501", explanation="fornecedor sancionado", contract_id=501, value=1.0, threshold=0.0),
]
CONTRACT = Contract(id=501, source=Source.SIMULATOR, fornecedor_nome="Fornecedora Exemplo Ltda")


def template(contract: Contract | None, findings: Sequence[Finding]) -> str:
    return (f"O contrato {contract.id if contract else '-'} tem {len(findings)} sinais: valor de R$ 250.000,00 "
            "contra limiar de R$ 120.000,00 (mediana R$ 80.000,00 em 40 contratos); fornecedor sancionado.")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def standin() -> Iterator:
    with groq_standin() as state:
        yield state


def _writer(url: str, clock: Clock | None = None, timeout: float = 5.0) -> SummaryWriter:
    settings = Settings(_env_file=None, groq_api_key=KEY, groq_api_url=url, groq_model=MODEL,
                        groq_timeout_seconds=timeout)
    writer = SummaryWriter.from_settings(settings, template=template)
    if clock is not None:
        writer._clock = clock
    return writer


def test_it_writes_the_template_without_a_key(standin) -> None:
    writer = SummaryWriter.from_settings(Settings(_env_file=None, groq_api_url=standin.url), template=template)
    summary = writer.write(CONTRACT, FINDINGS)
    assert summary.source == TEMPLATE_SOURCE
    assert summary.text == template(CONTRACT, FINDINGS)
    assert summary.fallback_reason is None
    assert standin.requests == []


def test_it_stores_groqs_rewrite_with_the_model_as_source(standin) -> None:
    rewrite = "O contrato 501 custou R$ 250.000,00, acima do limiar de R$ 120.000,00, e o fornecedor está sancionado."
    standin.queue(Reply(content=f'"{rewrite}"'))
    summary = _writer(standin.url).write(CONTRACT, FINDINGS)
    assert summary.source == MODEL
    assert summary.text == rewrite
    [request] = standin.completions
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.body is not None and request.body["model"] == MODEL and request.body["temperature"] == 0
    system, user = request.body["messages"]
    assert system["role"] == "system" and "não acrescente números" in system["content"]
    assert template(CONTRACT, FINDINGS) in user["content"]
    assert "250000.0" in user["content"] and "120000.0" in user["content"]
    # Only the findings' numbers travel, not the contract record.
    assert "Fornecedora Exemplo" not in user["content"]


def test_it_falls_back_and_waits_out_a_429_with_retry_after(standin) -> None:
    clock = Clock()
    writer = _writer(standin.url, clock)
    standin.queue(Reply(kind="rate_limited", retry_after="7"))
    first = writer.write(CONTRACT, FINDINGS)
    assert first.source == TEMPLATE_SOURCE and "429" in (first.fallback_reason or "")
    clock.now += 6.5
    paused = writer.write(CONTRACT, FINDINGS)
    assert paused.source == TEMPLATE_SOURCE and "paused" in (paused.fallback_reason or "")
    assert len(standin.completions) == 1, "Groq was called again before retry-after passed"
    clock.now += 1.0
    standin.queue(Reply(content="O contrato 501 tem 2 sinais."))
    assert writer.write(CONTRACT, FINDINGS).source == MODEL
    assert len(standin.completions) == 2


def test_it_uses_the_ratelimit_reset_headers_when_retry_after_is_missing(standin) -> None:
    clock = Clock()
    writer = _writer(standin.url, clock)
    standin.queue(Reply(kind="rate_limited", retry_after=None))
    writer.write(CONTRACT, FINDINGS)
    clock.now += 179.0  # x-ratelimit-reset-requests is 2m59.56s
    assert writer.write(CONTRACT, FINDINGS).fallback_reason.startswith("groq paused")
    clock.now += 1.0
    writer.write(CONTRACT, FINDINGS)
    assert len(standin.completions) == 2


@pytest.mark.parametrize("reply,reason", [
    (Reply(kind="server_error", status=503), "HTTP 503"),
    (Reply(kind="server_error", status=500), "HTTP 500"),
    (Reply(kind="malformed"), "unreadable"),
    (Reply(kind="unauthorized"), "HTTP 401"),
    (Reply(content="   "), "empty answer"),
])
def test_it_falls_back_to_the_template_on_errors(standin, reply: Reply, reason: str) -> None:
    standin.queue(reply)
    summary = _writer(standin.url).write(CONTRACT, FINDINGS)
    assert summary.source == TEMPLATE_SOURCE
    assert summary.text == template(CONTRACT, FINDINGS)
    assert reason in (summary.fallback_reason or "")


def test_it_falls_back_when_groq_is_slower_than_the_timeout(standin) -> None:
    standin.queue(Reply(kind="slow", delay=1.5))
    summary = _writer(standin.url, timeout=0.3).write(CONTRACT, FINDINGS)
    assert summary.source == TEMPLATE_SOURCE and "timed out" in (summary.fallback_reason or "")


def test_it_rejects_an_answer_that_adds_a_number(standin) -> None:
    standin.queue(Reply(content="O contrato 501 custou R$ 999.999,00 e o fornecedor foi multado em 2019."))
    summary = _writer(standin.url).write(CONTRACT, FINDINGS)
    assert summary.source == TEMPLATE_SOURCE
    assert "999999" in (summary.fallback_reason or "") and "2019" in (summary.fallback_reason or "")


def test_it_pauses_groq_after_three_failures_in_a_row(standin) -> None:
    clock = Clock()
    writer = _writer(standin.url, clock)
    standin.queue(*[Reply(kind="server_error", status=502)] * 3)
    for _ in range(4):
        writer.write(CONTRACT, FINDINGS)
    assert len(standin.completions) == 3
    clock.now += 61
    standin.queue(Reply(content="O contrato 501 tem 2 sinais."))
    assert writer.write(CONTRACT, FINDINGS).source == MODEL


def test_it_does_not_call_groq_when_there_is_nothing_to_rewrite(standin) -> None:
    summary = _writer(standin.url).write(CONTRACT, [])
    assert summary.source == TEMPLATE_SOURCE and standin.requests == []


def test_it_pings_groq_by_listing_models(standin) -> None:
    writer = _writer(standin.url)
    assert writer.chat is not None and writer.chat.ping() == MODEL
    standin.models = ["other-model"]
    from shared.llm import GroqUnavailable

    with pytest.raises(GroqUnavailable, match="not offered"):
        writer.chat.ping()


def test_it_asks_a_reasoning_model_for_low_effort_and_keeps_only_the_answer(standin) -> None:
    # The stand-in's reasoning text carries numbers the findings do not: had it reached the guard,
    # the answer would have been rejected.
    answer = "O contrato 501 tem 2 sinais: valor acima do limiar e fornecedor sancionado."
    standin.queue(Reply(content=answer, reasoning="Vou citar R$ 999.999,99 e 77 contratos."))
    summary = _writer(standin.url).write(CONTRACT, FINDINGS)
    assert (summary.source, summary.text) == (MODEL, answer)
    [request] = standin.completions
    assert request.body is not None
    assert request.body["reasoning_effort"] == "low" and request.body["include_reasoning"] is False
    assert "reasoning_format" not in request.body


def test_it_sends_no_reasoning_parameters_to_a_model_that_does_not_reason(standin) -> None:
    settings = Settings(_env_file=None, groq_api_key=KEY, groq_api_url=standin.url, groq_model="llama-3.1-8b-instant")
    summary = SummaryWriter.from_settings(settings, template=template).write(CONTRACT, FINDINGS)
    assert summary.source == "llama-3.1-8b-instant"
    [request] = standin.completions
    assert request.body is not None and "reasoning_effort" not in request.body


def test_it_drops_an_inline_reasoning_block() -> None:
    from shared.llm.groq import answer_text

    assert answer_text("<think>R$ 999 em 2019\nmais</think>\n O resumo.") == "O resumo."


@pytest.mark.parametrize("model,code", [
    ("llama-3.3-70b-versatile", "model_decommissioned"),
    ("llama-9-imaginary", "model_not_found"),
])
def test_it_degrades_to_the_template_with_one_log_line_when_groq_no_longer_serves_the_model(
        standin, model: str, code: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, groq_api_key=KEY, groq_api_url=standin.url, groq_model=model)
    writer = SummaryWriter.from_settings(settings, template=template)
    with caplog.at_level(logging.INFO, logger="vigia.llm"):
        summaries = [writer.write(CONTRACT, FINDINGS) for _ in range(3)]
    assert {s.source for s in summaries} == {TEMPLATE_SOURCE}
    assert {s.text for s in summaries} == {template(CONTRACT, FINDINGS)}
    assert len(standin.completions) == 1, "Groq was called again for a model it had said was gone"
    [record] = [r for r in caplog.records if r.name == "vigia.llm"]
    reason = getattr(record, "reason", "")
    assert record.levelno == logging.ERROR
    assert f"GROQ_MODEL={model}" in reason and code in reason and f"GROQ_MODEL={GROQ_DEFAULT_MODEL}" in reason
