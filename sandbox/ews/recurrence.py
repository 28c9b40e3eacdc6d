"""Recurrence expansion for the EWS stand-in: daily and weekly patterns, kept in the
organiser's time zone so a 10:00 Berlin stand-up stays at 10:00 local across DST.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["WEEKDAYS", "occurrences", "series_dates"]

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
#: a series without an end is expanded at most this far, so a view never loops forever
_HORIZON_DAYS = 366 * 5


def series_dates(recurrence: dict[str, Any]) -> Iterator[date]:
    """The local dates of every occurrence of a pattern, in order (bounded by its range)."""
    start = date.fromisoformat(recurrence["StartDate"])
    end = date.fromisoformat(recurrence["EndDate"]) if recurrence.get("EndDate") else None
    count = recurrence.get("NumberOfOccurrences")
    interval = max(1, int(recurrence.get("Interval", 1)))
    limit = start + timedelta(days=_HORIZON_DAYS)
    produced = 0
    day = start
    if recurrence["Pattern"] == "Weekly":
        wanted = {WEEKDAYS.index(d) for d in recurrence.get("DaysOfWeek") or
                  [WEEKDAYS[start.weekday()]]}
        week0 = start - timedelta(days=start.weekday())
    while day <= limit and (end is None or day <= end) and (count is None or produced < count):
        if recurrence["Pattern"] == "Daily":
            hit = (day - start).days % interval == 0
        else:
            weeks = ((day - timedelta(days=day.weekday())) - week0).days // 7
            hit = day.weekday() in wanted and weeks % interval == 0
        if hit:
            produced += 1
            yield day
        day += timedelta(days=1)


def occurrences(master: dict[str, Any]) -> Iterator[tuple[int, datetime, datetime]]:
    """(instance index from 1, start, end) in UTC for each occurrence of a recurring master."""
    tz = ZoneInfo(master.get("TimeZone") or "UTC")
    first = datetime.fromisoformat(master["Start"]).astimezone(tz)
    duration = datetime.fromisoformat(master["End"]) - datetime.fromisoformat(master["Start"])
    for index, day in enumerate(series_dates(master["Recurrence"]), start=1):
        # Keep the local wall-clock time; the UTC instant moves with DST.
        local = datetime.combine(day, first.timetz().replace(tzinfo=None), tzinfo=tz)
        start = local.astimezone(UTC)
        yield index, start, start + duration
