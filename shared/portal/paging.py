"""Paging through the Portal: 15 records a page, no total, no documented order.

:func:`iter_pages` asks for page 1, 2, … and stops after an empty page, or after a page shorter
than the longest one seen in that sweep. Not at the first page under 15 records: the API has no
page-size parameter and documents no page size, so were its pages ever smaller, a fixed 15 would
read one page of every órgão and silently drop the rest (a sweep of one short page costs one
more request, the empty page, instead). Each page is
parsed as it arrives and handed to the caller before the next one is fetched, so memory holds
one page plus the set of ids already seen (about 70 bytes per id), never an órgão's history.
Pages may overlap and the order is undocumented, so records are deduplicated by ``id`` across
the whole sweep; a record that cannot be parsed goes to ``rejected`` and the rest of its page is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from shared.portal.errors import MalformedRecord
from shared.portal.models import RejectedRecord, rejected

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page as received: the new records (``Page[Contract]``, ``Page[Sanction]``, …), the
    rejected ones, and how many the API sent."""

    number: int
    items: list[T]
    rejected: list[RejectedRecord] = field(default_factory=list)
    raw_count: int = 0
    duplicates: int = 0  # records already seen on an earlier page (or twice on this one)


def iter_pages(
    fetch: Callable[[int], list[Any]],
    parse: Callable[[Any], T],
    key: Callable[[T], Hashable],
    *,
    first_page: int = 1,
) -> Iterator[Page[T]]:
    """Fetch, parse and yield pages until one is empty or shorter than the longest seen so far.

    ``fetch(n)`` returns page ``n``'s JSON array; ``parse`` raises MalformedRecord for a record it
    cannot read; ``key`` gives the identity used to drop records already seen in this sweep. A
    sweep continued from ``first_page`` > 1 (the cursor of an earlier task) deduplicates only
    from there on: the earlier pages' records are already stored, and upserts are idempotent.
    """
    seen: set[Hashable] = set()
    number = first_page
    longest = 0
    while True:
        records = fetch(number)
        items: list[T] = []
        refused: list[RejectedRecord] = []
        duplicates = 0
        for raw in records:
            try:
                item = parse(raw)
            except MalformedRecord as error:
                refused.append(rejected(error))
                continue
            identity = key(item)
            if identity in seen:
                duplicates += 1
                continue
            seen.add(identity)
            items.append(item)
        yield Page(number=number, items=items, rejected=refused, raw_count=len(records), duplicates=duplicates)
        if not records or len(records) < longest:
            return
        longest = max(longest, len(records))
        number += 1
