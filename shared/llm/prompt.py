"""What Groq is told, and the check that its answer added nothing.

Groq receives the template explanation (already built from the findings by the detection
package) and the findings' numbers, and is told to rewrite, never to add. Because a model may
still invent a figure, :func:`invented_numbers` compares every number in its answer with the
numbers it was given; an answer that introduces one is discarded and the template is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from shared.domain import Finding

SYSTEM_PROMPT = (
    "Você reescreve explicações de sinais de alerta em contratos públicos federais brasileiros. "
    "Reescreva o texto-modelo como um único parágrafo curto (no máximo quatro frases), claro, em "
    "português do Brasil, para um cidadão leigo. Use somente os fatos e os números fornecidos: não "
    "acrescente números, nomes, datas, causas, suposições nem conclusões, e não arredonde valores "
    "de outro modo. Um sinal de alerta é um motivo para verificar, nunca prova de irregularidade. "
    "Responda apenas com o parágrafo, sem título, lista ou aspas."
)

# Longest answer kept; a model that rambles is not summarising.
MAX_SUMMARY_CHARS = 1200

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def finding_facts(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """The numbers of each finding, and nothing else about the contract."""
    facts = []
    for finding in findings:
        facts.append(
            {
                "indicador": finding.indicator,
                "severidade": finding.severity.value,
                "pontuacao": round(finding.score, 4),
                "valor": finding.value,
                "limiar": finding.threshold,
                "referencia": finding.baseline,
            }
        )
    return facts


def build_messages(template_text: str, findings: Sequence[Finding]) -> list[dict[str, str]]:
    facts = json.dumps(finding_facts(findings), ensure_ascii=False, default=str, indent=1)
    user = (
        f"Texto-modelo:\n{template_text}\n\n"
        f"Números dos achados ({len(findings)}):\n{facts}\n\n"
        "Reescreva o texto-modelo seguindo as regras."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _digits(text: str) -> set[str]:
    """Every number in ``text`` as its bare digits (1.234,56 and 1234.56 both become 123456)."""
    found = set()
    for match in _NUMBER.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        found.add(digits.lstrip("0") or "0")
    return found


def invented_numbers(answer: str, messages: Sequence[dict[str, str]]) -> list[str]:
    """Numbers in ``answer`` that appear nowhere in what the model was given.

    A number counts as given when its digits begin a given number's digits, so a model may drop
    decimals ("12%" from 0.125, "R$ 1.234.567" from 1234567.89) or change separators without
    being rejected; a rounded or new figure is.
    """
    given = set()
    for message in messages:
        given |= _digits(message["content"])
    invented = []
    for number in sorted(_digits(answer)):
        if not any(source.startswith(number) for source in given):
            invented.append(number)
    return invented


def clean_answer(answer: str) -> str:
    """Strip the wrapping quotes and whitespace a model sometimes adds."""
    text = " ".join(answer.split())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    return text
