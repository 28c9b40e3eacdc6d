"""iCalendar parsing and recurrence expansion, shared by CalDAV and iCalendar feeds."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone

from model import BusyStatus, Response, Role, StatusCategory
from pipelines.normalize.drafts import InvolvementDraft, NormalizeError, OccurrenceDraft

__all__ = [
    "busy_status",
    "event_fields",
    "events_by_uid",
    "expand",
    "involvements",
    "is_absence",
    "parse_calendar",
    "stamp",
    "to_utc",
]

_PARTSTAT = {
    "ACCEPTED": Response.accepted,
    "DECLINED": Response.declined,
    "TENTATIVE": Response.tentative,
    "NEEDS-ACTION": Response.needs_action,
    "DELEGATED": Response.declined,  # someone else goes in their place
}
_CDO_BUSY = {
    "FREE": BusyStatus.free,
    "TENTATIVE": BusyStatus.tentative,
    "BUSY": BusyStatus.busy,
    "OOF": BusyStatus.oof,
    "WORKINGELSEWHERE": BusyStatus.busy,
}


def parse_calendar(text: str) -> icalendar.Calendar:
    """Parse a VCALENDAR, repairing Google's X-WR-TIMEZONE; NormalizeError if malformed."""
    if not isinstance(text, str) or "BEGIN:V" not in text.upper():
        raise NormalizeError("not an iCalendar object (no BEGIN:VCALENDAR)")
    if "BEGIN:VCALENDAR" not in text.upper():
        # Some producers hand out a bare VEVENT; it is still a whole event.
        text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{text.strip()}\r\nEND:VCALENDAR\r\n"
    try:
        calendar = icalendar.Calendar.from_ical(_repair_rules(text))
        calendar = x_wr_timezone.to_standard(calendar)
    except Exception as exc:
        raise NormalizeError(f"malformed iCalendar: {exc}") from exc
    for event in calendar.walk("VEVENT"):
        _check_event(event)
    return calendar


_RULE_LINE = re.compile(r"^((?:RRULE|EXRULE)[;:])(.*)$", re.MULTILINE | re.IGNORECASE)


def _repair_rules(text: str) -> str:
    """Drop the blanks some producers (Exchange CDO) put inside recurrence rules.

    `BYDAY=MO, TU` breaks every RRULE parser; RFC 5545 allows no blanks there, so removing
    them cannot change a valid rule.
    """
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    return _RULE_LINE.sub(lambda m: m.group(1) + re.sub(r"\s+", "", m.group(2)), unfolded)


def _check_event(event: icalendar.Event) -> None:
    if not event.get("UID"):
        # RFC 5545 requires a UID, yet Exchange's CDO exports omit it: derive a stable one
        # from what identifies the event, so the same event keeps the same item.
        basis = "|".join(str(event.get(k, "")) for k in ("DTSTART", "SUMMARY", "ORGANIZER"))
        basis += "|" + str(event.get("DTSTART").to_ical() if event.get("DTSTART") else "")
        event.add("UID", "derived-" + hashlib.sha1(basis.encode()).hexdigest()[:20])  # noqa: S324
    uid = event.get("UID")
    values = {}
    for name in ("DTSTART", "DTEND"):
        prop = event.get(name)
        if prop is None:
            continue
        try:
            value = event.decoded(name)
        except Exception as exc:
            raise NormalizeError(f"VEVENT {uid}: bad {name}: {exc}") from exc
        if not isinstance(value, date):  # icalendar hands unreadable values back as text
            raise NormalizeError(f"VEVENT {uid}: unreadable {name} {value!r}")
        tzid = getattr(prop, "params", {}).get("TZID")
        if tzid and isinstance(value, datetime) and value.tzinfo is None:
            # icalendar leaves a time naive when it cannot place its zone; guessing would
            # shift the meeting silently, so the record waits for a human instead.
            raise NormalizeError(f"VEVENT {uid}: unknown time zone {tzid!r} in {name}")
        values[name] = value
    if "DTSTART" not in values:
        raise NormalizeError(f"VEVENT {uid} has no DTSTART")
    start, end = values["DTSTART"], values.get("DTEND")
    if end is not None and type(start) is type(end) and end < start:
        raise NormalizeError(f"VEVENT {uid}: DTEND {end} is before DTSTART {start}")


def events_by_uid(calendar: icalendar.Calendar) -> dict[str, list[Any]]:
    """VEVENTs grouped by UID (a master and its RECURRENCE-ID overrides share one)."""
    grouped: dict[str, list[Any]] = {}
    for event in calendar.walk("VEVENT"):
        grouped.setdefault(str(event["UID"]), []).append(event)
    return grouped


def master(events: list[icalendar.Event]) -> icalendar.Event:
    """The series master, or the first instance when the master is not present."""
    for event in events:
        if event.get("RECURRENCE-ID") is None:
            return event
    return events[0]


def to_utc(value: date | datetime, default_tz: ZoneInfo) -> tuple[datetime, bool]:
    """An iCalendar DATE or DATE-TIME as UTC, and whether it was a date (all-day).

    Dates become midnight UTC of that date: the reader places them in a person's zone.
    Floating times are read in `default_tz`.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=default_tz)
        return value.astimezone(UTC), False
    return datetime.combine(value, time(0), tzinfo=UTC), True


def busy_status(event: icalendar.Event) -> BusyStatus:
    """OOF/free/tentative/busy from Microsoft's busy status, else TRANSP and STATUS."""
    cdo = str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper()
    if cdo in _CDO_BUSY:
        return _CDO_BUSY[cdo]
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return BusyStatus.free
    if str(event.get("STATUS", "")).upper() == "TENTATIVE":
        return BusyStatus.tentative
    return BusyStatus.busy


def is_absence(title: str, status: BusyStatus, patterns: Iterable[str]) -> bool:
    """Out-of-office by busy status, or by a configured title pattern."""
    return status is BusyStatus.oof or any(re.search(p, title) for p in patterns)


def _end_of(event: icalendar.Event, start: date | datetime) -> date | datetime:
    if event.get("DTEND") is not None:
        end: date | datetime = event.decoded("DTEND")
        return end
    if event.get("DURATION") is not None:
        duration: timedelta = event.decoded("DURATION")
        return start + duration
    # RFC 5545 3.6.1: a DATE start lasts one day, a DATE-TIME start lasts no time.
    return start + timedelta(days=1) if not isinstance(start, datetime) else start


def span(event: icalendar.Event, default_tz: ZoneInfo) -> tuple[datetime, datetime, bool]:
    """The event's own start and end in UTC, and whether it is all-day."""
    start_value = event.decoded("DTSTART")
    start, all_day = to_utc(start_value, default_tz)
    end, _ = to_utc(_end_of(event, start_value), default_tz)
    return start, max(start, end), all_day


def expand(
    calendar: icalendar.Calendar,
    uid: str,
    window_start: datetime,
    window_end: datetime,
    default_tz: ZoneInfo,
) -> list[OccurrenceDraft]:
    """Every occurrence of the event `uid` overlapping the window, EXDATE and overrides applied."""
    found: dict[datetime, OccurrenceDraft] = {}
    query: Any = recurring_ical_events.of(calendar, skip_bad_series=True)
    for instance in query.between(window_start, window_end):
        if str(instance.get("UID")) != uid:
            continue
        start, end, all_day = span(instance, default_tz)
        cancelled = str(instance.get("STATUS", "")).upper() == "CANCELLED"
        found[start] = OccurrenceDraft(
            start=start,
            end=end,
            all_day=all_day,
            cancelled=cancelled,
            busy_status=busy_status(instance),
        )
    return [found[k] for k in sorted(found)]


def _address(prop: Any) -> str | None:
    text = str(prop).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower() if "@" in text else None


def involvements(event: icalendar.Event) -> list[InvolvementDraft]:
    """The organizer and attendees (with their PARTSTAT) of an event, by email address."""
    out: dict[str, InvolvementDraft] = {}
    organizer = event.get("ORGANIZER")
    organizer_address = _address(organizer) if organizer is not None else None
    if organizer_address:
        out[organizer_address] = InvolvementDraft(
            "email",
            organizer_address,
            Role.organizer,
            Response.accepted,
            display_name=_cn(organizer),
        )
    attendees = event.get("ATTENDEE") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    for attendee in attendees:
        address = _address(attendee)
        if not address or address == organizer_address:
            continue
        partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper()
        out[address] = InvolvementDraft(
            "email",
            address,
            Role.attendee,
            _PARTSTAT.get(partstat, Response.needs_action),
            display_name=_cn(attendee),
        )
    return list(out.values())


def _cn(prop: Any) -> str | None:
    params = getattr(prop, "params", None)
    return str(params["CN"]) if params and params.get("CN") else None


def stamp(event: icalendar.Event, name: str) -> datetime | None:
    """A UTC timestamp property (CREATED, LAST-MODIFIED, DTSTAMP), None if absent or odd."""
    value = getattr(event.get(name), "dt", None)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def event_fields(event: icalendar.Event, tz: ZoneInfo) -> dict[str, Any]:
    """The WorkItem fields every calendar source reads the same way from a VEVENT:
    status, private, busy status, created/updated, span and recurrence."""
    start, end, all_day = span(event, tz)
    cancelled = str(event.get("STATUS", "")).upper() == "CANCELLED"
    return {
        "status_raw": str(event.get("STATUS", "")) or None,
        "status_category": StatusCategory.cancelled if cancelled else StatusCategory.todo,
        "created_at": stamp(event, "CREATED"),
        "updated_at": stamp(event, "LAST-MODIFIED") or stamp(event, "DTSTAMP"),
        "start_at": start,
        "end_at": end,
        "all_day": all_day,
        "private": str(event.get("CLASS", "PUBLIC")).upper() in ("PRIVATE", "CONFIDENTIAL"),
        "busy_status": busy_status(event),
        "recurring": event.get("RRULE") is not None or event.get("RDATE") is not None,
    }
