"""iCalendar feed records (one UID each) -> meeting and time-off items with occurrences.

The same rules as CalDAV (`pipelines.normalize.ical` parses, repairs Google's
X-WR-TIMEZONE and expands recurrences): the key is `ical:<UID>`, so a meeting seen in a
feed and in a CalDAV or Exchange calendar is one item; out-of-office entries and titles
matching `org.absence_patterns` are time off. A feed's config adds:

- `absences: true`: every event is an absence (a holiday or leave calendar);
- `team: <id>`: a shared team calendar; every member of the team attends every event
  (the team must exist in `org.teams`, else each record is quarantined saying so);
- `owner: <person>`: the person whose calendar this is, as for CalDAV: an entry naming
  nobody is theirs (organizer), one naming others was put there for them (attendee).

Absences and team members concern their people only through the config, so a holiday
feed needs `owner` or `team` to count as anyone's time off.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from model import ItemKind, Response, Role
from pipelines.normalize.context import Fragment, NormalizeContext, Record
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft, NormalizeError
from pipelines.normalize.ical import (
    busy_status,
    event_fields,
    events_by_uid,
    expand,
    involvements,
    is_absence,
    master,
    parse_calendar,
)
from workhub.config import IcsSourceConfig, WorkhubConfig

__all__ = ["normalize_record", "person_involvement"]


def person_involvement(config: WorkhubConfig, person_id: str, role: Role) -> InvolvementDraft:
    """A person of the config as a calendar party: by their address, else by their id."""
    person = config.person(person_id)
    if person.email:
        return InvolvementDraft("email", person.email.lower(), role, Response.accepted,
                                display_name=person.name)
    return InvolvementDraft("person", person.id, role, Response.accepted,
                            display_name=person.name)


def _url(event: Any, cfg: IcsSourceConfig | None) -> str:
    """The event's own URL, else the feed's site: a private feed's path is a secret."""
    own = str(event.get("URL", "") or "")
    if own.startswith(("http://", "https://")):
        return own
    if cfg is None:
        return ""
    parts = urlsplit(cfg.url)
    return f"{parts.scheme}://{parts.hostname or ''}/" if parts.scheme else ""


def _team_members(ctx: NormalizeContext, cfg: IcsSourceConfig) -> list[str]:
    team = next((t for t in ctx.config.org.teams if t.id == cfg.team), None)
    if team is None:
        raise NormalizeError(f"source {cfg.name!r}: team {cfg.team!r} is not in org.teams")
    return [m.person for m in team.members]


def _check_times(events: list[Any]) -> None:
    """NormalizeError unless every DTSTART/DTEND reads as a date or date-time.

    icalendar is lenient and hands back an unreadable value as text (`20261299T250000Z`),
    which `parse_calendar` lets through; caught here so the record is quarantined.
    """
    for event in events:
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            if event.get(name) is not None and not isinstance(event.decoded(name), date):
                raise NormalizeError(f"VEVENT {event.get('UID')}: unreadable {name} "
                                     f"{str(event.get(name))!r}")


def normalize_record(record: Record, ctx: NormalizeContext) -> Fragment:
    """The meeting (or absence) one UID of a feed describes."""
    found = ctx.source_config(record.source_id)
    cfg = found if isinstance(found, IcsSourceConfig) else None
    calendar = parse_calendar(str(record.payload.get("ics", "")))
    grouped = events_by_uid(calendar)
    if len(grouped) != 1:
        raise NormalizeError(f"feed record holds {len(grouped)} UIDs; expected one")
    uid, events = next(iter(grouped.items()))
    _check_times(events)
    event = master(events)
    tz = ctx.org_timezone
    past = timedelta(weeks=cfg.window.past_weeks if cfg else 8)
    future = timedelta(weeks=cfg.window.future_weeks if cfg else 26)
    title = str(event.get("SUMMARY", "")).strip() or "(no title)"
    status = busy_status(event)
    people = involvements(event)
    listed = {(p.namespace, p.value) for p in people}
    owner = None
    if cfg is not None and cfg.owner:
        # As in CalDAV: an entry naming nobody is the owner's own; else made for them.
        role = Role.attendee if people else Role.organizer
        owner = person_involvement(ctx.config, cfg.owner, role)
        if (owner.namespace, owner.value) not in listed:
            people.append(owner)
            listed.add((owner.namespace, owner.value))
    if cfg is not None and cfg.team:
        for member in _team_members(ctx, cfg):
            who = person_involvement(ctx.config, member, Role.attendee)
            if (who.namespace, who.value) not in listed:  # the event's own word wins
                people.append(who)
                listed.add((who.namespace, who.value))
    absence = (cfg is not None and cfg.absences) or is_absence(
        title, status, ctx.config.org.absence_patterns)
    calname = str(calendar.get("X-WR-CALNAME", "") or "").strip()
    fields = event_fields(event, tz)
    updated_at = fields["updated_at"]
    draft = ItemDraft(
        key=f"ical:{uid}",
        external_id=uid,
        kind=ItemKind.time_off if absence else ItemKind.meeting,
        title=title,
        url=_url(event, cfg),
        container=calname or (cfg.name if cfg else None),
        **fields,
        involvements=people,
        occurrences=expand(calendar, uid, ctx.now - past, ctx.now + future, tz),
    )
    organizer_copy = owner is not None and any(
        p.role is Role.organizer and (p.namespace, p.value) == (owner.namespace, owner.value)
        for p in people)
    try:
        sequence = int(event.get("SEQUENCE", 0) or 0)
    except (TypeError, ValueError):  # a bad SEQUENCE only loses the tie-break
        sequence = 0
    stamp = updated_at.timestamp() if updated_at else 0.0
    return Fragment.of(record, draft, rank=(int(organizer_copy), sequence, stamp, -record.id),
                       owner=owner)
