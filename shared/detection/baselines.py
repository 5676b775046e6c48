"""Peer baselines: robust statistics per peer group, gathered in one pass and never pairwise.

A peer group is a key (for example órgão, object class and year) with the values of its members.
:class:`PeerGroups` collects values for several nested levels of keys in a single pass over a
batch, counts members per key, and computes :class:`PeerStats` (n, median, MAD, quartiles) only
for the groups someone asks about, each with one sort. Baselines computed elsewhere (for example
read from the store, over more history than one batch holds) can be supplied as ``precomputed``
and take precedence over what the batch alone would give.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

Key = tuple[Hashable, ...]


@dataclass(frozen=True, slots=True)
class PeerStats:
    """Robust summary of one peer group's values (here: natural logs of contract values)."""

    n: int
    median: float
    mad: float  # median absolute deviation from the median
    mean_abs_dev: float  # mean absolute deviation from the median (the fallback when MAD is 0)
    q1: float
    q3: float


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (the 'inclusive' method), on sorted data."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def peer_stats(values: Sequence[float]) -> PeerStats:
    if not values:
        raise ValueError("peer_stats needs at least one value")
    ordered = sorted(values)
    median = _quantile(ordered, 0.5)
    deviations = sorted(abs(v - median) for v in ordered)
    return PeerStats(
        n=len(ordered),
        median=median,
        mad=_quantile(deviations, 0.5),
        mean_abs_dev=sum(deviations) / len(deviations),
        q1=_quantile(ordered, 0.25),
        q3=_quantile(ordered, 0.75),
    )


class PeerGroups:
    """Values grouped under several levels of keys, filled in one pass; stats computed on demand."""

    def __init__(self, levels: int, precomputed: Mapping[tuple[int, Key], PeerStats] | None = None) -> None:
        self._values: list[dict[Key, list[float]]] = [{} for _ in range(levels)]
        self._stats: dict[tuple[int, Key], PeerStats] = {}
        self._precomputed = precomputed or {}

    def add(self, keys: Sequence[Key | None], value: float) -> None:
        """Add one value under its key at every level (a None key leaves that level out)."""
        for level, key in enumerate(keys):
            if key is None:
                continue
            bucket = self._values[level].get(key)
            if bucket is None:
                self._values[level][key] = [value]
            else:
                bucket.append(value)

    def count(self, level: int, key: Key) -> int:
        given = self._precomputed.get((level, key))
        if given is not None:
            return given.n
        bucket = self._values[level].get(key)
        return len(bucket) if bucket else 0

    def stats(self, level: int, key: Key) -> PeerStats:
        given = self._precomputed.get((level, key))
        if given is not None:
            return given
        cached = self._stats.get((level, key))
        if cached is None:
            bucket = self._values[level][key]
            bucket.sort()  # kept sorted: :meth:`stats_without` reads it
            cached = peer_stats(bucket)
            self._stats[(level, key)] = cached
        return cached

    def stats_without(self, level: int, key: Key, value: float) -> PeerStats | None:
        """The group's stats with one occurrence of ``value`` left out (the contract out of its own
        baseline); None for a precomputed group, whose members are not at hand."""
        if (level, key) in self._precomputed:
            return None
        self.stats(level, key)
        return stats_without(self._values[level][key], value)


def stats_without(ordered: Sequence[float], value: float) -> PeerStats:
    """:func:`peer_stats` of sorted ``ordered`` minus one occurrence of ``value``, without copying.

    Order statistics are read around the removed index. The absolute deviations from the median
    are two sorted runs (below the median, read leftwards; from it on, read rightwards), so each
    order statistic of the deviations is the k-th smallest of two sorted sequences: a binary
    search, O(log n) per contract instead of a sort of its group.
    """
    n = len(ordered) - 1
    if n < 1:
        raise ValueError("stats_without needs at least two values")
    gone = bisect_left(ordered, value)

    def at(k: int) -> float:
        return ordered[k if k < gone else k + 1]

    def quantile(q: float) -> float:
        position = (n - 1) * q
        low = math.floor(position)
        high = min(low + 1, n - 1)
        return at(low) + (at(high) - at(low)) * (position - low)

    median = quantile(0.5)
    below = bisect_left(ordered, median)
    if gone < below:
        below -= 1
    above = n - below

    def left(j: int) -> float:  # j-th smallest deviation among values below the median
        return median - at(below - 1 - j)

    def right(j: int) -> float:  # j-th smallest deviation among values from the median on
        return at(below + j) - median

    def kth(k: int) -> float:
        lo, hi = max(0, k + 1 - above), min(k + 1, below)
        while lo < hi:
            i = (lo + hi) // 2
            if left(i) < right(k - i):
                lo = i + 1
            else:
                hi = i
        j = k + 1 - lo
        return max(left(lo - 1) if lo > 0 else -math.inf, right(j - 1) if j > 0 else -math.inf)

    position = (n - 1) * 0.5
    low = math.floor(position)
    d_low = kth(low)
    mad = d_low + (kth(min(low + 1, n - 1)) - d_low) * (position - low) if position > low else d_low
    mean_abs = 0.0
    if mad == 0:
        mean_abs = (sum(abs(v - median) for v in ordered) - abs(value - median)) / n
    return PeerStats(n=n, median=median, mad=mad, mean_abs_dev=mean_abs, q1=quantile(0.25), q3=quantile(0.75))
