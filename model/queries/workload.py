"""A person's workload week by week, exactly as DESIGN.md defines it.

All computation happens in the person's time zone; weeks are ISO weeks there.
- working: working hours minus public holidays of the person's country;
- time off: working hours covered by absences (OOF or an absence title);
- meetings: the union of occurrences the person organizes or has not declined,
  clipped to working hours, outside time off; free and cancelled entries excluded;
- focus: free blocks of at least two hours inside working hours.
- duties: the configured recurring duties, shrunk by the share of the week spent away.
Committed work comes from the forecast (`model.queries.forecast`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from model import (
    BusyStatus,
    Involvement,
    ItemKind,
    Occurrence,
    Person,
    Response,
    Role,
    StatusCategory,
    WorkItem,
)
from model.queries.intervals import Interval, clip, hours, intersect, subtract, union
from workhub.config import OrgConfig

__all__ = [
    "FOCUS_BLOCK",
    "WeekCalendar",
    "WeekLoad",
    "duty_hours",
    "iso_week_start",
    "person_workload",
    "week_calendars",
    "week_load",
]

#: The shortest free block that counts as focus time (Microsoft Viva Insights' definition).
FOCUS_BLOCK = timedelta(hours=2)


@dataclass
class WeekLoad:
    """One ISO week of one person's time, in hours."""

    week: str
    start: date
    working_hours: float
    time_off_hours: float
    meeting_hours: float
    duty_hours: float
    available_hours: float
    committed_hours: float
    utilization: float | None
    focus_hours: float
    unestimated_items: int = 0
    at_risk: list[dict[str, Any]] = field(default_factory=list)
    email_received: int = 0
    email_sent: int = 0


def iso_week_start(day: date) -> date:
    """The Monday of the ISO week that holds `day`."""
    return day - timedelta(days=day.weekday())


@lru_cache(maxsize=64)
def _holidays(country: str, years: tuple[int, ...]) -> holidays.HolidayBase:
    code, _, subdivision = country.partition("-")
    return holidays.country_holidays(code, subdiv=subdivision or None, years=years)


def working_intervals(person: Person, first: date, last: date) -> list[Interval]:
    """The person's working spans from `first` to `last` (inclusive), holidays removed."""
    tz = ZoneInfo(person.timezone)
    spec = person.working_hours or {}
    days = set(spec.get("days", [0, 1, 2, 3, 4]))
    day_start = time.fromisoformat(spec.get("start", "09:00"))
    day_end = time.fromisoformat(spec.get("end", "17:00"))
    years = tuple(range(first.year, last.year + 1))
    off = _holidays(person.country, years) if person.country else {}
    spans: list[Interval] = []
    day = first
    while day <= last:
        if day.weekday() in days and day not in off:
            spans.append(
                (
                    datetime.combine(day, day_start, tz).astimezone(UTC),
                    datetime.combine(day, day_end, tz).astimezone(UTC),
                )
            )
        day += timedelta(days=1)
    return spans


def _local_span(occ_start: datetime, occ_end: datetime, all_day: bool, tz: ZoneInfo) -> Interval:
    if not all_day:
        return occ_start, occ_end
    # All-day entries are dates: they cover those days in the reader's own zone.
    return (
        datetime.combine(occ_start.date(), time(0), tz).astimezone(UTC),
        datetime.combine(occ_end.date(), time(0), tz).astimezone(UTC),
    )


def calendar_spans(
    session: Session, person_id: int, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[list[Interval], list[Interval]]:
    """(absences, meetings) of the person overlapping [start, end), as UTC intervals."""
    # All-day spans are stored as UTC dates, so widen the window by a day on each side.
    rows = session.execute(
        select(
            Occurrence.start_at,
            Occurrence.end_at,
            Occurrence.all_day,
            Occurrence.busy_status,
            WorkItem.kind,
            WorkItem.busy_status,
        )
        .join(WorkItem, WorkItem.id == Occurrence.item_id)
        .join(Involvement, Involvement.item_id == WorkItem.id)
        .where(
            Involvement.person_id == person_id,
            Involvement.role.in_([Role.organizer, Role.attendee]),
            or_(Involvement.response.is_(None), Involvement.response != Response.declined),
            WorkItem.deleted_at.is_(None),
            WorkItem.status_category != StatusCategory.cancelled,
            WorkItem.kind.in_([ItemKind.meeting, ItemKind.time_off]),
            Occurrence.cancelled.is_(False),
            Occurrence.start_at < end + timedelta(days=1),
            Occurrence.end_at > start - timedelta(days=1),
        )
        .distinct()
    ).all()
    absences: list[Interval] = []
    meetings: list[Interval] = []
    for occ_start, occ_end, all_day, occ_busy, kind, item_busy in rows:
        busy = occ_busy or item_busy or BusyStatus.busy
        span = _local_span(occ_start, occ_end, all_day, tz)
        if kind is ItemKind.time_off or busy is BusyStatus.oof:
            absences.append(span)
        elif busy is not BusyStatus.free:
            meetings.append(span)
    return absences, meetings


@dataclass
class WeekCalendar:
    """One ISO week of a person's calendar, as intervals in UTC."""

    monday: date
    start: datetime
    end: datetime
    working: list[Interval]
    time_off: list[Interval]
    meetings: list[Interval]
    free: list[Interval]
    duty_hours: float

    @property
    def week(self) -> str:
        """The ISO week, e.g. 2026-W49."""
        iso = self.monday.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"

    @property
    def available_hours(self) -> float:
        """max(0, working - time off - meetings - duties)."""
        return max(0.0, hours(self.working) - hours(self.time_off) - hours(self.meetings)
                   - self.duty_hours)


def duty_hours(org: OrgConfig | None, person: Person, monday: date, working: float,
               time_off: float) -> float:
    """The person's duty hours in a week, shrunk by the share of it they are away."""
    if org is None or working <= 0:
        return 0.0
    full = sum(d.hours_for(person.slug, monday) for d in org.duties)
    return full * (working - time_off) / working


def week_calendars(session: Session, person: Person, start: date, weeks: int,
                   org: OrgConfig | None = None) -> list[WeekCalendar]:
    """The person's calendar for `weeks` ISO weeks from the week holding `start`."""
    tz = ZoneInfo(person.timezone)
    first = iso_week_start(start)
    last = first + timedelta(weeks=weeks) - timedelta(days=1)
    window_start = datetime.combine(first, time(0), tz).astimezone(UTC)
    window_end = datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(UTC)
    working_all = union(working_intervals(person, first, last))
    absences, meetings = calendar_spans(session, person.id, window_start, window_end, tz)
    absences, meetings = union(absences), union(meetings)
    out = []
    for n in range(weeks):
        monday = first + timedelta(weeks=n)
        w_start = datetime.combine(monday, time(0), tz).astimezone(UTC)
        w_end = datetime.combine(monday + timedelta(days=7), time(0), tz).astimezone(UTC)
        # Clip the year's sorted intervals to the week first: linear, not quadratic.
        working = clip(working_all, w_start, w_end)
        time_off = intersect(clip(absences, w_start, w_end), working)
        in_meetings = subtract(intersect(clip(meetings, w_start, w_end), working), time_off)
        free = union(subtract(subtract(working, time_off), in_meetings))
        duties = duty_hours(org, person, monday, hours(working), hours(time_off))
        out.append(WeekCalendar(monday, w_start, w_end, working, time_off, in_meetings, free,
                                duties))
    return out


def week_load(calendar: WeekCalendar, committed: float = 0.0, unestimated: int = 0,
              at_risk: list[dict[str, Any]] | None = None) -> WeekLoad:
    """The reported numbers of one week."""
    available = calendar.available_hours
    return WeekLoad(
        week=calendar.week,
        start=calendar.monday,
        working_hours=round(hours(calendar.working), 2),
        time_off_hours=round(hours(calendar.time_off), 2),
        meeting_hours=round(hours(calendar.meetings), 2),
        duty_hours=round(calendar.duty_hours, 2),
        available_hours=round(available, 2),
        committed_hours=round(committed, 2),
        utilization=round(committed / available, 4) if available > 0 else None,
        focus_hours=round(hours(calendar.free, at_least=FOCUS_BLOCK), 2),
        unestimated_items=unestimated,
        at_risk=at_risk or [],
    )


def person_workload(session: Session, person: Person, start: date, weeks: int,
                    org: OrgConfig | None = None) -> list[WeekLoad]:
    """The person's calendar load (no committed work) for `weeks` ISO weeks."""
    return [week_load(c) for c in week_calendars(session, person, start, weeks, org)]
