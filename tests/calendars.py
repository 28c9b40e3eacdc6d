"""Small builders of iCalendar text for tests."""

from __future__ import annotations

from datetime import datetime


def stamp(moment: datetime) -> str:
    """A UTC DATE-TIME value."""
    return moment.strftime("%Y%m%dT%H%M%SZ")


def vevent(
    uid: str,
    start: str,
    end: str,
    summary: str = "Meeting",
    *,
    organizer: str | None = None,
    attendees: dict[str, str] | None = None,
    extra: str = "",
    tz: str | None = None,
) -> str:
    """One VEVENT; start/end are iCalendar values (e.g. 20261201T100000 or 20261201)."""
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", f"SUMMARY:{summary}"]
    if len(start) == 8:
        lines += [f"DTSTART;VALUE=DATE:{start}", f"DTEND;VALUE=DATE:{end}"]
    elif tz:
        lines += [f"DTSTART;TZID={tz}:{start}", f"DTEND;TZID={tz}:{end}"]
    else:
        lines += [f"DTSTART:{start}", f"DTEND:{end}"]
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
    for address, partstat in (attendees or {}).items():
        lines.append(f"ATTENDEE;PARTSTAT={partstat}:mailto:{address}")
    lines += [line for line in extra.strip().splitlines() if line]
    lines.append("END:VEVENT")
    return "\n".join(lines)


BERLIN_TZ = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE"""


def vcalendar(*events: str, timezone: bool = False) -> str:
    """A VCALENDAR around the given VEVENTs (CRLF line ends, as RFC 5545 wants)."""
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//workhub tests//EN"]
    if timezone:
        body.append(BERLIN_TZ)
    body += list(events)
    body.append("END:VCALENDAR")
    return "\r\n".join("\n".join(body).splitlines()) + "\r\n"
