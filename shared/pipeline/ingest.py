"""From Portal pages to stored rows: what a page brought, and one upsert of a batch.

A sweep, an on-demand órgão request and the sanctions refresh read pages the same way:
:class:`PageTally` counts pages, records seen, rejected and repeated ones, and logs each rejected
record with where it came from. :func:`store_contracts` upserts one batch of contracts — behind
the órgão's write-ahead set when a queue is given, so a worker killed mid-upsert leaves the ids
to analyse in Redis — and says which were new or changed. The contracts stay in the caller's
hands: the analysis that follows works on them instead of reading back what was just written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.domain import Contract, UpsertResult

if TYPE_CHECKING:
    from shared.pipeline.context import PipelineContext
    from shared.pipeline.state import OrgaoQueue
    from shared.portal.paging import Page

log = logging.getLogger("vigia.pipeline.ingest")


@dataclass
class PageTally:
    """Pages, records seen and rejected since the last batch; ``what`` names the records in logs
    ("contract") and in the seen counter ("contracts_seen")."""

    what: str
    count_duplicates: bool = True
    where: dict[str, Any] = field(default_factory=dict)
    pages: int = 0
    seen: int = 0
    rejected: int = 0
    duplicates: int = 0

    def add(self, page: Page[Any]) -> None:
        self.pages += 1
        self.seen += page.raw_count
        self.rejected += len(page.rejected)
        self.duplicates += page.duplicates
        for rejected in page.rejected:
            log.warning(f"{self.what} record rejected", extra={**self.where, "page": page.number,
                                                               "reason": rejected.reason})

    def counters(self) -> dict[str, int]:
        counters = {"pages": self.pages, f"{self.what}s_seen": self.seen, "rejected": self.rejected}
        return counters | {"duplicates": self.duplicates} if self.count_duplicates else counters

    def reset(self) -> None:
        self.pages = self.seen = self.rejected = self.duplicates = 0


def store_contracts(ctx: PipelineContext, batch: Mapping[int, Contract], *, queue: OrgaoQueue | None = None) -> UpsertResult:
    """Upsert ``batch`` in one transaction; with ``queue``, its ids sit in the write-ahead set
    until the new and changed ones are pending analysis."""
    ids = sorted(batch)
    if queue is not None:
        queue.before_upsert(ids)
    result = ctx.store.upsert_contracts([batch[i] for i in ids]) if ids else UpsertResult()
    if queue is not None:
        queue.after_upsert(ids, result.to_analyze, result.changed)
    return result
