"""exchangelib items -> the JSON payloads we store, named the way EWS names the elements.

exchangelib has no raw-JSON mode: it parses the SOAP answer into item objects. We copy
exactly the properties we asked for back into plain dicts keyed by the EWS element names
(`Subject`, `ToRecipients`, `Flag`, ...), timestamps as ISO-8601 UTC and all-day dates as
ISO dates, so a stored payload reads like the wire format and hashes the same whenever
the server sent the same thing.

The follow-up flag and the "answered" marker are not part of exchangelib's Message model
in every Exchange version it supports, so they are read as MAPI extended properties,
registered on Message once, under names no other code uses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from exchangelib import CalendarItem, Message
from exchangelib.extended_properties import ExtendedProperty

__all__ = [
    "CALENDAR_FIELDS",
    "MESSAGE_FIELDS",
    "calendar_payload",
    "iso",
    "mailbox",
    "message_payload",
    "occurrence_payload",
]


class _FlagStatus(ExtendedProperty):
    """PR_FLAG_STATUS: 2 flagged, 1 complete, absent when not flagged."""

    property_tag = 0x1090
    property_type = "Integer"


class _FlagCompleteTime(ExtendedProperty):
    """PR_FLAG_COMPLETE_TIME."""

    property_tag = 0x1091
    property_type = "SystemTime"


class _TaskStartDate(ExtendedProperty):
    """PidLidTaskStartDate: the flag's start date."""

    distinguished_property_set_id = "Task"
    property_id = 0x8104
    property_type = "SystemTime"


class _TaskDueDate(ExtendedProperty):
    """PidLidTaskDueDate: the flag's due date."""

    distinguished_property_set_id = "Task"
    property_id = 0x8105
    property_type = "SystemTime"


class _LastVerb(ExtendedProperty):
    """PR_LAST_VERB_EXECUTED: 102 reply, 103 reply all, 104 forward."""

    property_tag = 0x1081
    property_type = "Integer"


class _LastVerbTime(ExtendedProperty):
    """PR_LAST_VERB_EXECUTION_TIME."""

    property_tag = 0x1082
    property_type = "SystemTime"


_EXTENDED: dict[str, type[ExtendedProperty]] = {
    "workhub_flag_status": _FlagStatus,
    "workhub_flag_complete": _FlagCompleteTime,
    "workhub_flag_start": _TaskStartDate,
    "workhub_flag_due": _TaskDueDate,
    "workhub_last_verb": _LastVerb,
    "workhub_last_verb_time": _LastVerbTime,
}


def _register() -> None:
    # Registration mutates exchangelib's Message model for the whole process; do it once.
    known = {f.name for f in Message.FIELDS}
    for name, prop in _EXTENDED.items():
        if name not in known:
            Message.register(name, prop)


_register()

#: what the messages stream asks for (never the body unless `store_bodies`)
MESSAGE_FIELDS = [
    "subject", "sender", "author", "to_recipients", "cc_recipients", "datetime_received",
    "datetime_sent", "last_modified_time", "is_read", "importance", "categories",
    "conversation_id", "message_id", "in_reply_to", *_EXTENDED,
]
#: what the calendar view asks for
CALENDAR_FIELDS = [
    "uid", "subject", "start", "end", "is_all_day", "legacy_free_busy_status", "is_cancelled",
    "is_recurring", "type", "my_response_type", "organizer", "required_attendees",
    "optional_attendees", "sensitivity", "appointment_sequence_number", "last_modified_time",
    "datetime_created", "location", "categories", "importance",
]
_FLAG_STATUS = {2: "Flagged", 1: "Complete"}


def iso(value: Any) -> str | None:
    """A timestamp as ISO-8601 UTC with a Z, a date as an ISO date, else None."""
    if isinstance(value, datetime):
        # EWSDateTime refuses stdlib zones: go through a plain datetime.
        moment = (datetime(*value.timetuple()[:6], tzinfo=UTC) if value.tzinfo is None
                  else datetime.fromtimestamp(value.timestamp(), UTC))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return None


def mailbox(box: Any) -> dict[str, str] | None:
    """An EWS Mailbox as {Name, EmailAddress} (None when absent)."""
    if box is None:
        return None
    return {"Name": box.name or "", "EmailAddress": (box.email_address or "").lower()}


def _mailboxes(boxes: Any) -> list[dict[str, str]]:
    return [b for b in (mailbox(x) for x in boxes or []) if b is not None]


def _attendees(entries: Any) -> list[dict[str, Any]]:
    return [
        {"Mailbox": mailbox(a.mailbox), "ResponseType": a.response_type or "Unknown"}
        for a in entries or []
        if a.mailbox is not None
    ]


def _get(item: Any, name: str) -> Any:
    """A property of an item, None when its model has no such property."""
    return getattr(item, name, None)


def message_payload(
    item: Any, owner: str, folder: str, *, store_bodies: bool = False
) -> dict[str, Any]:
    """The stored record of one message in one mailbox folder (metadata only by default)."""
    # Meeting requests and responses in an inbox are not Messages in exchangelib's model
    # and lack some of these properties: read each one leniently.
    status = _get(item, "workhub_flag_status")
    payload: dict[str, Any] = {
        "mailbox": owner,
        "folder": folder,
        "ItemId": _get(item, "id"),
        "InternetMessageId": _get(item, "message_id"),
        "ConversationId": getattr(_get(item, "conversation_id"), "id", None),
        "InReplyTo": _get(item, "in_reply_to"),
        "Subject": _get(item, "subject"),
        "Sender": mailbox(_get(item, "sender")),
        "From": mailbox(_get(item, "author")),
        "ToRecipients": _mailboxes(_get(item, "to_recipients")),
        "CcRecipients": _mailboxes(_get(item, "cc_recipients")),
        "DateTimeReceived": iso(_get(item, "datetime_received")),
        "DateTimeSent": iso(_get(item, "datetime_sent")),
        "LastModifiedTime": iso(_get(item, "last_modified_time")),
        "IsRead": _get(item, "is_read"),
        "Importance": _get(item, "importance"),
        "Categories": list(_get(item, "categories") or []),
        "Flag": {
            "FlagStatus": _FLAG_STATUS.get(status, "NotFlagged") if status else "NotFlagged",
            "StartDate": iso(_get(item, "workhub_flag_start")),
            "DueDate": iso(_get(item, "workhub_flag_due")),
            "CompleteDate": iso(_get(item, "workhub_flag_complete")),
        },
        "LastVerbExecuted": _get(item, "workhub_last_verb"),
        "LastVerbExecutionTime": iso(_get(item, "workhub_last_verb_time")),
    }
    if store_bodies:
        body = _get(item, "body")
        payload["Body"] = str(body) if body is not None else None
    return payload


def occurrence_payload(item: CalendarItem) -> dict[str, Any]:
    """One entry of the calendar view: the span and what may differ per occurrence."""
    end = item.end
    if isinstance(end, date) and not isinstance(end, datetime):
        # exchangelib turns an all-day end into the last day it covers; EWS (and
        # iCalendar) send the exclusive end, the day after. Store what the server said.
        end = end + timedelta(days=1)
    return {
        "ItemId": item.id,
        "CalendarItemType": item.type,
        "Start": iso(item.start),
        "End": iso(end),
        "IsAllDayEvent": bool(item.is_all_day),
        "LegacyFreeBusyStatus": item.legacy_free_busy_status,
        "IsCancelled": bool(item.is_cancelled),
        "Subject": item.subject,
    }


def calendar_payload(owner: str, uid: str, items: list[CalendarItem]) -> dict[str, Any]:
    """The stored record of one meeting (all its occurrences in the view) in one mailbox.

    A recurring series arrives from the view as one item per occurrence; they are kept in
    one record so the meeting's occurrences live together (the normalizer builds one item
    from one record's occurrences).
    """
    items = sorted(items, key=lambda i: (iso(i.start) or "", i.id or ""))
    first = items[0]
    return {
        "mailbox": owner,
        "UID": uid,
        "Subject": first.subject,
        "Sensitivity": first.sensitivity,
        "Importance": first.importance,
        "Location": first.location,
        "Categories": list(first.categories or []),
        "IsRecurring": any(
            i.is_recurring or i.type in ("Occurrence", "Exception", "RecurringMaster")
            for i in items
        ),
        "IsCancelled": all(bool(i.is_cancelled) for i in items),
        "IsAllDayEvent": bool(first.is_all_day),
        "LegacyFreeBusyStatus": first.legacy_free_busy_status,
        "MyResponseType": first.my_response_type,
        "Organizer": mailbox(first.organizer),
        "RequiredAttendees": _attendees(first.required_attendees),
        "OptionalAttendees": _attendees(first.optional_attendees),
        "AppointmentSequenceNumber": first.appointment_sequence_number,
        "DateTimeCreated": iso(first.datetime_created),
        # The series' newest change (ISO-8601 UTC strings sort like the moments they name).
        "LastModifiedTime": max((m for m in (iso(i.last_modified_time) for i in items) if m),
                                default=None),
        "Occurrences": [occurrence_payload(i) for i in items],
    }
