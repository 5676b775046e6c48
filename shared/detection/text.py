"""Normalised ``objeto`` text: tokens for near-duplicate comparison and an object class for peer groups.

Normalisation is deterministic and table-driven (``data/text.json``): Unicode accents are
stripped, text is lower-cased, split on anything that is not a letter or digit, and stop words,
pure numbers and one-letter tokens are dropped. The object class is the first rule in the table
whose tokens are present; text that matches no rule gets ``outros:<first two tokens>``, so only
literally similar objects share a fallback group. Results are cached per distinct text, because
the same ``objeto`` repeats across thousands of contracts.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

_SPLIT = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What the indicators need from one ``objeto`` text."""

    tokens: frozenset[str]
    object_class: str | None  # None when the text has no usable token
    works: bool  # art. 75 inciso I class (works, engineering, vehicle maintenance)
    renovation: bool  # the amendment cap for renovation applies
    continuous: bool = False  # a continuing service whose term (and value) may be prorrogued


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    all: frozenset[str]
    any: frozenset[str]
    works: bool
    continuous: bool


def load_table(name: str) -> dict[str, Any]:
    """A JSON table from ``shared/detection/data``."""
    text = resources.files("shared.detection").joinpath("data", name).read_text(encoding="utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


@lru_cache(maxsize=1)
def _tables() -> tuple[frozenset[str], tuple[_Rule, ...], frozenset[str], frozenset[str]]:
    table = load_table("text.json")
    rules = tuple(
        _Rule(r["class"], frozenset(r.get("all", ())), frozenset(r.get("any", ())), bool(r.get("works", False)),
              bool(r.get("continuous", False)))
        for r in table["classes"]
    )
    renovation = frozenset(load_table("legal.json")["amendment_caps"]["renovation_terms"])
    return frozenset(table["stop_words"]), rules, renovation, frozenset(table.get("continuous_terms", ()))


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str) -> list[str]:
    """Significant tokens of a text, in order (accents, case, punctuation and stop words removed)."""
    stop, _rules, _ren, _cont = _tables()
    words = _SPLIT.split(strip_accents(text).lower())
    return [w for w in words if len(w) > 1 and not w.isdigit() and w not in stop]


@lru_cache(maxsize=200_000)
def object_info(text: str | None) -> ObjectInfo:
    """Tokens and class of one ``objeto`` (cached: real data repeats the same texts constantly)."""
    if not text:
        return ObjectInfo(frozenset(), None, False, False)
    _stop, rules, renovation_terms, continuous_terms = _tables()
    ordered = normalise(text)
    tokens = frozenset(ordered)
    if not tokens:
        return ObjectInfo(tokens, None, False, False)
    renovation, continuous = not renovation_terms.isdisjoint(tokens), not continuous_terms.isdisjoint(tokens)
    for rule in rules:
        if rule.all <= tokens and (not rule.any or not rule.any.isdisjoint(tokens)):
            return ObjectInfo(tokens, rule.name, rule.works, renovation, rule.continuous or continuous)
    fallback = "outros:" + ":".join(ordered[:2])
    return ObjectInfo(tokens, fallback, False, renovation, continuous)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Token-set Jaccard similarity; two empty sets are not similar (nothing to compare)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@lru_cache(maxsize=65_536)
def fold(text: str | None) -> str:
    """Accent- and case-free text with single spaces, for comparing names (cached: names repeat)."""
    if not text:
        return ""
    return " ".join(_SPLIT.split(strip_accents(text).lower())).strip()
