"""Paging through the Portal: 15 records a page, no total, no documented order.

:func:`iter_pages` asks for page 1, 2, … and stops after an empty page, or after a page shorter
than the longest one seen in that sweep. Not at the first page under 15 records: the API has no
page-size parameter and documents no page size, so were its pages ever smaller, a fixed 15 would
read one page of every órgão and silently drop the rest (a sweep of one short page costs one
more request, the empty page, instead). Each page is
parsed as it arrives and handed to the caller before the next one is fetched, so memory holds
one page plus the set of ids already seen (about 70 bytes per id), never an órgão's history.
With ``read_ahead`` the next page is fetched on a background thread while the caller works on
this one — only once this page's size says there is a next page, so the requests are the same,
save the one read ahead when the caller stops early (a task whose budget ran out).
Pages may overlap and the order is undocumented, so records are deduplicated by ``id`` across
the whole sweep; a record that cannot be parsed goes to ``rejected`` and the rest of its page is kept.
"""

from __future__ import annotations

import contextvars
import threading
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


class _Fetch:
    """One page fetched on a daemon thread (with the caller's context, so its log lines carry the
    task's ids); :meth:`result` returns it or raises what the fetch raised."""

    def __init__(self, fetch: Callable[[int], list[Any]], number: int) -> None:
        self._records: list[Any] = []
        self._error: BaseException | None = None
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run, fetch, number), daemon=True,
                                        name=f"portal-page-{number}")
        self._thread.start()

    def _run(self, fetch: Callable[[int], list[Any]], number: int) -> None:
        try:
            self._records = fetch(number)
        except BaseException as error:  # handed to the caller, who asked for this page
            self._error = error

    def result(self) -> list[Any]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._records


def iter_pages(
    fetch: Callable[[int], list[Any]],
    parse: Callable[[Any], T],
    key: Callable[[T], Hashable],
    *,
    first_page: int = 1,
    read_ahead: bool = False,
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
    ahead: _Fetch | None = None
    while True:
        records = ahead.result() if ahead is not None else fetch(number)
        last = not records or len(records) < longest
        longest = max(longest, len(records))
        ahead = _Fetch(fetch, number + 1) if read_ahead and not last else None
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
        if last:
            return
        number += 1
