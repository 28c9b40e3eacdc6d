"""Committed work and the forecast: when will each open item really be done?

DESIGN.md's definitions, in code:
- effort of an open item = its estimate (remaining, else original, else story points x
  hours per point, as normalization recorded it), else the default for its kind (the
  item then counts as *unestimated*);
- a person's share of an item = the assignment's share, else an even split among its
  assignees; a pull request that implements an issue carries no effort of its own;
- forward scheduling: items in order of due date, then priority, then age, fill each
  week's available hours from "now" on (duties spread evenly over the free time). That
  gives every item a projected start and finish; finishing after the due date is *at risk*;
- committed hours of a week = the hours scheduled into it, except that hours which can only
  be done after an item's due date are owed in the week of that due date (overdue ones in
  the current week). So a week can be over 100 % utilized: over-allocated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from model import Involvement, ItemKind, Link, Person, Role, Source, StatusCategory, WorkItem
from model.queries.access import Viewer
from model.queries.email_load import email_load
from model.queries.intervals import Interval, hours
from model.queries.workload import (
    WeekCalendar,
    WeekLoad,
    iso_week_start,
    week_calendars,
    week_load,
)
from workhub.config import OrgConfig

__all__ = ["Forecast", "PlannedItem", "forecast_for", "open_work", "person_forecast", "schedule"]

OPEN = (StatusCategory.todo, StatusCategory.in_progress, StatusCategory.blocked)
#: How far ahead the scheduler looks for a projected finish.
HORIZON_WEEKS = 52


@dataclass
class PlannedItem:
    """An open item of the person's, with its effort and where the schedule puts it."""

    id: int
    kind: ItemKind
    title: str
    url: str
    source: str
    private: bool
    due: datetime | None
    priority: int | None
    effort_hours: float
    share: float
    hours: float
    estimate_source: str
    unestimated: bool
    projected_start: datetime | None = None
    projected_finish: datetime | None = None

    @property
    def at_risk(self) -> bool:
        """Projected to finish after its due date (or not at all within the horizon)."""
        if self.due is None or self.hours <= 0:
            return False
        return self.projected_finish is None or self.projected_finish > self.due

    def shown_to(self, viewer: Viewer, person_id: int) -> PlannedItem:
        """The item as a viewer other than its assignee may see it (privacy rules)."""
        if viewer.is_admin or viewer.person_id == person_id:
            return self
        if self.kind is ItemKind.email:
            return replace(self, title="Email request", url="")
        if self.private:
            return replace(self, title="Busy", url="")
        return self

    def brief(self) -> dict[str, Any]:
        """The at-risk entry of a week."""
        return {"id": self.id, "title": self.title, "kind": str(self.kind), "url": self.url,
                "due": self.due, "projected_finish": self.projected_finish,
                "hours": round(self.hours, 2)}


@dataclass
class Forecast:
    """A person's weeks with committed work, and every open item's projection."""

    weeks: list[WeekLoad]
    items: list[PlannedItem] = field(default_factory=list)


#: Built once: an alias made per call was adapted afresh (and its statement's cache key
#: recomputed) on every request, about a third of this query's time.
_IMPLEMENTS = aliased(Link)
_ASSIGNEES = (select(func.count()).where(Involvement.item_id == WorkItem.id,
                                         Involvement.role == Role.assignee)
              .correlate(WorkItem).scalar_subquery())


def open_work(session: Session, person: Person, org: OrgConfig) -> list[PlannedItem]:
    """Open items the person is assignee of, with their effort and the person's share."""
    kinds = [ItemKind(k) for k in org.effort.committed_kinds]
    rows = session.execute(
        select(WorkItem, Source.slug, Involvement.share, _ASSIGNEES)
        .join(Involvement, and_(Involvement.item_id == WorkItem.id,
                                Involvement.person_id == person.id,
                                Involvement.role == Role.assignee))
        .join(Source, Source.id == WorkItem.source_id)
        .where(WorkItem.deleted_at.is_(None), WorkItem.status_category.in_(OPEN),
               WorkItem.kind.in_(kinds),
               # One unit of work counted once: the issue carries the effort, not its PR.
               ~exists().where(_IMPLEMENTS.from_item_id == WorkItem.id,
                               _IMPLEMENTS.type == "implements",
                               _IMPLEMENTS.to_item_id.is_not(None)))
        .order_by(WorkItem.id)).all()
    out = []
    for item, source, share, count in rows:
        unestimated = item.estimate_hours is None
        effort = org.effort.default_hours.get(item.kind.value, 0.0) if unestimated \
            else float(item.estimate_hours or 0.0)
        part = share if share is not None else 1.0 / max(1, count)
        out.append(PlannedItem(
            id=item.id, kind=item.kind, title=item.title, url=item.url, source=source,
            private=item.private, due=item.due_at, priority=item.priority,
            effort_hours=effort, share=part, hours=effort * part,
            estimate_source="default" if unestimated else (item.estimate_source or "estimate"),
            unestimated=unestimated))
    return out


def _priority_order(item: PlannedItem) -> tuple[datetime, int, int]:
    return (item.due or datetime.max.replace(tzinfo=UTC),
            item.priority if item.priority is not None else 5, item.id)


@dataclass
class _Week:
    calendar: WeekCalendar
    free: list[Interval]  # free time still to come (after "now")
    capacity: float  # hours of work this week can take
    rate: float = 1.0  # work hours per hour of free time (< 1 when duties take a share)


def _capacity(calendars: list[WeekCalendar], now: datetime) -> list[_Week]:
    weeks = []
    for cal in calendars:
        free = [(max(s, now), e) for s, e in cal.free if e > now]
        free_full, free_left = hours(cal.free), hours(free)
        duties_left = cal.duty_hours * (free_left / free_full) if free_full else 0.0
        capacity = max(0.0, free_left - duties_left)
        weeks.append(_Week(cal, free, capacity, capacity / free_left if free_left else 0.0))
    return weeks


def _walk(week: _Week, used: float, amount: float) -> tuple[datetime, datetime]:
    """The moments at which `used` and `used + amount` work hours of the week are reached."""
    marks: list[datetime] = []
    for target in (used, used + amount):
        left = target
        moment = week.free[-1][1] if week.free else week.calendar.end
        for start, end in week.free:
            span = (end - start).total_seconds() / 3600 * week.rate
            if left <= span + 1e-9:
                moment = start + timedelta(hours=left / week.rate if week.rate else 0)
                break
            left -= span
        marks.append(moment)
    return marks[0], marks[1]


def schedule(items: list[PlannedItem], calendars: list[WeekCalendar], now: datetime,
             tz: ZoneInfo) -> dict[date, float]:
    """Place items into the weeks' capacity in priority order; return hours owed per week.

    Sets each item's projected start and finish (None when it does not fit).
    """
    weeks = _capacity(calendars, now)
    owed: dict[date, float] = defaultdict(float)
    index, used = 0, 0.0
    first_monday = calendars[0].monday if calendars else iso_week_start(now.date())
    for item in sorted(items, key=_priority_order):
        due_monday = None
        if item.due is not None:
            due_monday = max(first_monday, iso_week_start(item.due.astimezone(tz).date()))
        remaining = item.hours
        if remaining <= 0:
            continue
        while remaining > 1e-9 and index < len(weeks):
            week = weeks[index]
            room = week.capacity - used
            if room <= 1e-9:
                index, used = index + 1, 0.0
                continue
            take = min(room, remaining)
            begin, finish = _walk(week, used, take)
            item.projected_start = item.projected_start or begin
            used += take
            remaining -= take
            # Hours done after the due week are owed in the due week: that is the commitment.
            monday = week.calendar.monday
            charge_to = due_monday if due_monday is not None and monday > due_monday else monday
            owed[charge_to] += take
            if remaining <= 1e-9:
                item.projected_finish = finish
        if remaining > 1e-9 and due_monday is not None:
            # Beyond the horizon: still owed by the due date (without one, not placed).
            owed[due_monday] += remaining
    return owed


def forecast_for(session: Session, viewer: Viewer, person: Person, org: OrgConfig,
                 start: date, weeks: int, now: datetime) -> Forecast:
    """`person_forecast` with item titles as this viewer may see them."""
    forecast = person_forecast(session, person, org, start, weeks, now)
    forecast.items = [item.shown_to(viewer, person.id) for item in forecast.items]
    ids = {i.id: i for i in forecast.items}
    for week in forecast.weeks:
        week.at_risk = [ids[r["id"]].brief() if r["id"] in ids else r for r in week.at_risk]
    return forecast


def _horizons(shown_weeks: int) -> list[int]:
    """Scheduling horizons to try, in weeks from this week, ending with HORIZON_WEEKS."""
    first = max(8, shown_weeks)
    return [h for h in (first, 26) if h < HORIZON_WEEKS] + [HORIZON_WEEKS]


def person_forecast(session: Session, person: Person, org: OrgConfig, start: date,
                    weeks: int, now: datetime) -> Forecast:
    """The person's weeks from `start` with committed work, and every open item's forecast."""
    tz = ZoneInfo(person.timezone)
    this_monday = iso_week_start(now.astimezone(tz).date())
    first = iso_week_start(start)
    # One calendar from the earlier of the shown start and this week, to the later of the
    # shown end and the scheduling horizon; nothing is scheduled into the past.
    begin = min(first, this_monday)
    items = open_work(session, person, org)
    # Most queues fit in a few weeks: look a short way ahead first and further only when
    # something is left unplaced (placements do not depend on how far the calendar goes).
    for horizon in _horizons(weeks + (first - this_monday).days // 7):
        end = max(first + timedelta(weeks=weeks), this_monday + timedelta(weeks=horizon))
        calendars = week_calendars(session, person, begin, (end - begin).days // 7, org)
        ahead = [c for c in calendars if c.monday >= this_monday]
        for item in items:
            item.projected_start = item.projected_finish = None
        owed = schedule(items, ahead, now, tz)
        if all(i.projected_finish is not None for i in items if i.hours > 0):
            break
    risky: dict[date, list[dict[str, Any]]] = defaultdict(list)
    unestimated: dict[date, int] = defaultdict(int)
    for item in items:
        if item.at_risk and item.due is not None:
            due_week = max(this_monday, iso_week_start(item.due.astimezone(tz).date()))
            risky[due_week].append(item.brief())
        if item.unestimated and item.projected_start is not None:
            finish = item.projected_finish or ahead[-1].end
            monday = iso_week_start(item.projected_start.astimezone(tz).date())
            while monday <= iso_week_start(finish.astimezone(tz).date()):
                unestimated[monday] += 1
                monday += timedelta(weeks=1)
    shown = [c for c in calendars if first <= c.monday < first + timedelta(weeks=weeks)]
    out = [week_load(c, owed.get(c.monday, 0.0), unestimated.get(c.monday, 0),
                     risky.get(c.monday, [])) if c.monday >= this_monday else week_load(c)
           for c in shown]
    mail = email_load(session, person, first, weeks)
    for week in out:
        week.email_received, week.email_sent = mail.get(week.start, (0, 0))
    return Forecast(out, sorted(items, key=_priority_order))
