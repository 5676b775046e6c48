"""pt-BR formatting for explanations: money, percentages, numbers and dates the Brazilian way.

Every finding's explanation is built from its own numbers with these helpers, and ends with
:data:`CAVEAT`, the plain statement that a flag is a reason to look and not proof. The LLM may
rephrase an explanation later, but the numbers in it come from here.
"""

from __future__ import annotations

from datetime import date

CAVEAT = "Um alerta é um motivo para examinar o contrato, não prova de irregularidade."


def number(value: float, decimals: int = 2) -> str:
    """``1234567.891`` -> ``1.234.567,89``."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def brl(value: float) -> str:
    return f"R$ {number(value, 2)}"


def pct(ratio: float, decimals: int = 1) -> str:
    """``0.253`` -> ``25,3 %``."""
    return f"{number(ratio * 100, decimals)} %"


def day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "data desconhecida"


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"
