"""CalDAV calendar objects -> meeting and time-off items with occurrences."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urljoin

from model import ItemKind, Response, Role
from pipelines.normalize.context import Fragment, NormalizeContext, Record
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft, NormalizeError
from pipelines.normalize.ical import (
    event_fields,
    events_by_uid,
    expand,
    involvements,
    is_absence,
    master,
    parse_calendar,
)
from workhub.config import CalDAVSourceConfig

__all__ = ["calendar_fragment", "normalize_record"]


def _owner(record: Record, ctx: NormalizeContext) -> InvolvementDraft | None:
    source = ctx.source_config(record.source_id)
    if isinstance(source, CalDAVSourceConfig) and source.owner:
        person = ctx.config.person(source.owner)
        if person.email:
            return InvolvementDraft(
                "email",
                person.email.lower(),
                Role.attendee,
                Response.accepted,
                display_name=person.name,
            )
        return InvolvementDraft(
            "person", person.id, Role.attendee, Response.accepted, display_name=person.name
        )
    address = record.payload.get("owner_address")
    if address:
        return InvolvementDraft("email", str(address).lower(), Role.attendee, Response.accepted)
    return None


def calendar_fragment(record: Record, ctx: NormalizeContext) -> Fragment:
    """The meeting (or absence) one CalDAV object describes, as seen from its calendar."""
    calendar = parse_calendar(record.payload.get("ics", ""))
    grouped = events_by_uid(calendar)
    if not grouped:
        raise NormalizeError("calendar object holds no VEVENT")
    if len(grouped) > 1:
        raise NormalizeError(f"calendar object holds {len(grouped)} UIDs; CalDAV allows one")
    uid, events = next(iter(grouped.items()))
    event = master(events)
    tz = ctx.org_timezone
    source = ctx.source_config(record.source_id)
    window = source.window if isinstance(source, CalDAVSourceConfig) else None
    past = timedelta(weeks=window.past_weeks if window else 8)
    future = timedelta(weeks=window.future_weeks if window else 26)
    fields = event_fields(event, tz)
    title = str(event.get("SUMMARY", "")).strip() or "(no title)"
    occurrences = expand(calendar, uid, ctx.now - past, ctx.now + future, tz)
    base_url = source.url if isinstance(source, CalDAVSourceConfig) else ""
    people = involvements(event)
    owner = _owner(record, ctx)
    if owner is not None:
        listed = {(p.namespace, p.value) for p in people}
        if (owner.namespace, owner.value) not in listed:
            # An entry in someone's calendar that names nobody is their own (an absence, a
            # focus block); one that names others but not them was put there for them.
            role = Role.organizer if not people else Role.attendee
            owner = InvolvementDraft(
                owner.namespace, owner.value, role, Response.accepted, owner.display_name
            )
            people.append(owner)
    categories = event.get("CATEGORIES")
    category_names: list[str] = []
    for group in categories if isinstance(categories, list) else [categories] if categories else []:
        category_names.extend(str(c) for c in getattr(group, "cats", []))
    updated_at = fields["updated_at"]
    draft = ItemDraft(
        key=f"ical:{uid}",
        external_id=uid,
        kind=ItemKind.time_off
        if is_absence(title, fields["busy_status"], ctx.config.org.absence_patterns)
        else ItemKind.meeting,
        title=title,
        url=urljoin(base_url, record.payload.get("href", "")),
        container=record.payload.get("calendar_name") or record.payload.get("calendar"),
        **fields,
        extra={"categories": category_names} if category_names else {},
        involvements=people,
        occurrences=occurrences,
    )
    organizer_copy = (owner is not None and owner.role is Role.organizer) or any(
        p.role is Role.organizer and owner is not None and p.value == owner.value for p in people
    )
    try:
        sequence = int(event.get("SEQUENCE", 0) or 0)
    except (TypeError, ValueError):
        sequence = 0  # a bad SEQUENCE only loses this copy's tie-break, not the event
    stamp = updated_at.timestamp() if updated_at else 0.0
    return Fragment.of(
        record, draft, rank=(int(organizer_copy), sequence, stamp, -record.id), owner=owner
    )


#: The runner finds every kind's normalizer under this name.
normalize_record = calendar_fragment
