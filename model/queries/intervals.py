"""Half-open time intervals: union, intersection, difference, and their lengths."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime, timedelta

__all__ = ["Interval", "clip", "hours", "intersect", "subtract", "union"]

Interval = tuple[datetime, datetime]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping and touching intervals; drop empty ones."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The parts of `a` that are also in `b`."""
    left, right = union(a), union(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The parts of `a` that are not in `b`."""
    cuts = union(b)
    out: list[Interval] = []
    for start, end in union(a):
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                out.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def hours(intervals: Iterable[Interval], *, at_least: timedelta | None = None) -> float:
    """Total length in hours, counting only intervals of `at_least` if given."""
    total = timedelta()
    for start, end in intervals:
        if at_least is None or end - start >= at_least:
            total += end - start
    return total.total_seconds() / 3600


def clip(disjoint: list[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of sorted, disjoint intervals (as `union` returns) inside [start, end).

    A binary search finds the first one, so clipping a year into weeks stays linear.
    """
    first = bisect.bisect_right(disjoint, start, key=lambda interval: interval[1])
    out: list[Interval] = []
    for s, e in disjoint[first:]:
        if s >= end:
            break
        out.append((max(s, start), min(e, end)))
    return [i for i in out if i[1] > i[0]]
