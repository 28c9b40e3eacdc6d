"""Item shapes for the EWS stand-in: which properties a request asked for (BaseShape,
AdditionalProperties, extended MAPI properties), how each is written as XML in schema
order, and how FindItem's Restriction and SortOrder read the same properties.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from sandbox.ews.recurrence import WEEKDAYS, occurrences
from sandbox.ews.soap import t

__all__ = ["Shape", "field_value", "matches", "parse_shape", "render_item", "sort_key"]

#: IANA zone -> Windows time zone id, for the StartTimeZone/EndTimeZone elements
WINDOWS_ZONES = {"Europe/Berlin": "W. Europe Standard Time",
                 "Europe/Paris": "Romance Standard Time", "Europe/London": "GMT Standard Time",
                 "America/New_York": "Eastern Standard Time", "UTC": "UTC"}

# (FieldURI, element, kind) in the order of the EWS schema (ItemType, then MessageType or
# CalendarItemType): exchangelib finds elements by name, but real Exchange keeps this order.
ITEM_FIELDS = [
    ("item:ParentFolderId", "ParentFolderId", "folder"), ("item:ItemClass", "ItemClass", "text"),
    ("item:Subject", "Subject", "text"), ("item:Sensitivity", "Sensitivity", "text"),
    ("item:Body", "Body", "body"), ("item:DateTimeReceived", "DateTimeReceived", "text"),
    ("item:Size", "Size", "size"), ("item:Categories", "Categories", "strings"),
    ("item:Importance", "Importance", "text"), ("item:InReplyTo", "InReplyTo", "text"),
    ("item:IsSubmitted", "IsSubmitted", "false"), ("item:IsDraft", "IsDraft", "false"),
    ("item:DateTimeSent", "DateTimeSent", "text"),
    ("item:DateTimeCreated", "DateTimeCreated", "text"),
    ("item:DisplayCc", "DisplayCc", "display"), ("item:DisplayTo", "DisplayTo", "display"),
    ("item:HasAttachments", "HasAttachments", "false"), ("", "ExtendedProperty", "extended"),
    ("item:LastModifiedTime", "LastModifiedTime", "text"),
    ("item:IsAssociated", "IsAssociated", "false"),
    ("item:ConversationId", "ConversationId", "id"), ("item:Flag", "Flag", "flag"),
]
MESSAGE_FIELDS = [
    ("message:Sender", "Sender", "mailbox"), ("message:ToRecipients", "ToRecipients", "mailboxes"),
    ("message:CcRecipients", "CcRecipients", "mailboxes"),
    ("message:ConversationTopic", "ConversationTopic", "text"), ("message:From", "From", "mailbox"),
    ("message:InternetMessageId", "InternetMessageId", "text"),
    ("message:IsRead", "IsRead", "text"),
]
CALENDAR_FIELDS = [
    ("calendar:UID", "UID", "text"), ("calendar:RecurrenceId", "RecurrenceId", "text"),
    ("calendar:Start", "Start", "text"), ("calendar:End", "End", "text"),
    ("calendar:OriginalStart", "OriginalStart", "text"),
    ("calendar:IsAllDayEvent", "IsAllDayEvent", "text"),
    ("calendar:LegacyFreeBusyStatus", "LegacyFreeBusyStatus", "text"),
    ("calendar:Location", "Location", "text"), ("calendar:IsMeeting", "IsMeeting", "text"),
    ("calendar:IsCancelled", "IsCancelled", "text"),
    ("calendar:IsRecurring", "IsRecurring", "text"),
    ("calendar:CalendarItemType", "CalendarItemType", "text"),
    ("calendar:MyResponseType", "MyResponseType", "text"),
    ("calendar:Organizer", "Organizer", "mailbox"),
    ("calendar:RequiredAttendees", "RequiredAttendees", "attendees"),
    ("calendar:OptionalAttendees", "OptionalAttendees", "attendees"),
    ("calendar:AppointmentSequenceNumber", "AppointmentSequenceNumber", "text"),
    ("calendar:Recurrence", "Recurrence", "recurrence"),
    ("calendar:FirstOccurrence", "FirstOccurrence", "first"),
    ("calendar:DeletedOccurrences", "DeletedOccurrences", "deleted"),
    ("calendar:StartTimeZone", "StartTimeZone", "tz"),
    ("calendar:EndTimeZone", "EndTimeZone", "tz"),
]
#: what BaseShape=Default returns besides the ItemId (close to Exchange's default set)
DEFAULT_FIELDS = {"item:Subject", "item:Sensitivity", "item:DateTimeReceived", "item:Size",
                  "item:Importance", "item:DateTimeSent", "item:DateTimeCreated",
                  "item:HasAttachments", "item:DisplayTo", "item:DisplayCc", "message:From",
                  "message:IsRead", "calendar:Start", "calendar:End", "calendar:Location",
                  "calendar:LegacyFreeBusyStatus", "calendar:CalendarItemType",
                  "calendar:Organizer", "calendar:IsAllDayEvent"}
_TEXT_TYPES = {"text", "false"}


@dataclass
class Shape:
    """The properties a request asked for."""

    base: str = "IdOnly"
    fields: set[str] = field(default_factory=set)
    extended: list[dict[str, str]] = field(default_factory=list)

    def wants(self, field_uri: str) -> bool:
        """Whether this shape includes the property."""
        if self.base == "AllProperties":
            return True
        return field_uri in self.fields or (self.base == "Default" and field_uri in DEFAULT_FIELDS)


def parse_shape(elem: etree._Element | None) -> Shape:
    """Read an ItemShape element."""
    if elem is None:
        return Shape()
    shape = Shape(base=(elem.findtext(t("BaseShape")) or "IdOnly").strip())
    extra = elem.find(t("AdditionalProperties"))
    for prop in extra if extra is not None else []:
        local = etree.QName(prop).localname
        if local == "FieldURI":
            shape.fields.add(prop.get("FieldURI", ""))
        elif local == "ExtendedFieldURI":
            shape.extended.append(dict(prop.attrib))
    return shape


def _mailbox(parent: etree._Element, box: dict[str, str]) -> None:
    mbx = etree.SubElement(parent, t("Mailbox"))
    for key in ("Name", "EmailAddress", "RoutingType", "MailboxType"):
        if box.get(key):
            etree.SubElement(mbx, t(key)).text = box[key]


def _extended_value(item: dict[str, Any], uri: dict[str, str]) -> str | None:
    """The value of a MAPI property the stand-in knows, for this item (None: not set)."""
    flag = item.get("Flag") or {}
    tag = uri.get("PropertyTag")
    if tag is not None:
        number = int(tag, 16) if tag.lower().startswith("0x") else int(tag)
        if number == 0x1090:  # PR_FLAG_STATUS: 2 flagged, 1 complete
            return {"Flagged": "2", "Complete": "1"}.get(flag.get("FlagStatus", ""))
        if number == 0x1091:  # PR_FLAG_COMPLETE_TIME
            return flag.get("CompleteDate")
        if number == 0x1081:  # PR_LAST_VERB_EXECUTED: 102 reply, 103 reply all
            verb = item.get("LastVerbExecuted")
            return None if verb is None else str(verb)
        if number == 0x1082:  # PR_LAST_VERB_EXECUTION_TIME
            return item.get("LastVerbExecutionTime")
        if number == 0x1080:  # PR_ICON_INDEX: 261 replied
            return "261" if item.get("LastVerbExecuted") else None
        return None
    if (uri.get("DistinguishedPropertySetId") == "Task"
            or (uri.get("PropertySetId") or "").lower() == "00062003-0000-0000-c000-000000000046"):
        prop_id = int(uri.get("PropertyId", "0"), 0)
        if prop_id == 0x8105:  # PidLidTaskDueDate
            return flag.get("DueDate")
        if prop_id == 0x8104:  # PidLidTaskStartDate
            return flag.get("StartDate")
    return None


def _recurrence(parent: etree._Element, rec: dict[str, Any]) -> None:
    elem = etree.SubElement(parent, t("Recurrence"))
    if rec["Pattern"] == "Daily":
        pattern = etree.SubElement(elem, t("DailyRecurrence"))
        etree.SubElement(pattern, t("Interval")).text = str(rec.get("Interval", 1))
    else:
        pattern = etree.SubElement(elem, t("WeeklyRecurrence"))
        etree.SubElement(pattern, t("Interval")).text = str(rec.get("Interval", 1))
        days = rec.get("DaysOfWeek") or [WEEKDAYS[datetime.fromisoformat(
            rec["StartDate"]).weekday()]]
        etree.SubElement(pattern, t("DaysOfWeek")).text = " ".join(days)
        etree.SubElement(pattern, t("FirstDayOfWeek")).text = "Monday"
    if rec.get("EndDate"):
        span = etree.SubElement(elem, t("EndDateRecurrence"))
    elif rec.get("NumberOfOccurrences"):
        span = etree.SubElement(elem, t("NumberedRecurrence"))
    else:
        span = etree.SubElement(elem, t("NoEndRecurrence"))
    etree.SubElement(span, t("StartDate")).text = rec["StartDate"]
    if rec.get("EndDate"):
        etree.SubElement(span, t("EndDate")).text = rec["EndDate"]
    elif rec.get("NumberOfOccurrences"):
        etree.SubElement(span, t("NumberOfOccurrences")).text = str(rec["NumberOfOccurrences"])


def _add(parent: etree._Element, item: dict[str, Any], element: str, kind: str,
         shape: Shape, mint_id: Callable[[dict[str, Any], int], str]) -> None:
    value = item.get(element)
    if kind == "text":
        if value is not None and value != "":
            etree.SubElement(parent, t(element)).text = (
                ("true" if value else "false") if isinstance(value, bool) else str(value))
    elif kind == "false":
        etree.SubElement(parent, t(element)).text = "false"
    elif kind == "folder":
        etree.SubElement(parent, t(element), Id=value, ChangeKey="AQAAAA==")
    elif kind == "id" and value:
        etree.SubElement(parent, t(element), Id=value)
    elif kind == "body":
        etree.SubElement(parent, t(element), BodyType="Text").text = value or ""
    elif kind == "size":
        etree.SubElement(parent, t(element)).text = str(1024 + len(item.get("Body") or "") * 2)
    elif kind == "strings" and value:
        strings = etree.SubElement(parent, t(element))
        for text in value:
            etree.SubElement(strings, t("String")).text = text
    elif kind == "display" and item["Kind"] == "Message":
        boxes = item.get("ToRecipients" if element == "DisplayTo" else "CcRecipients") or []
        etree.SubElement(parent, t(element)).text = "; ".join(b["Name"] for b in boxes)
    elif kind == "mailbox" and value:
        _mailbox(etree.SubElement(parent, t(element)), value)
    elif kind == "mailboxes" and value:
        boxes = etree.SubElement(parent, t(element))
        for box in value:
            _mailbox(boxes, box)
    elif kind == "attendees" and value:
        attendees = etree.SubElement(parent, t(element))
        for entry in value:
            attendee = etree.SubElement(attendees, t("Attendee"))
            _mailbox(attendee, entry["Mailbox"])
            etree.SubElement(attendee, t("ResponseType")).text = entry["ResponseType"]
            if entry.get("LastResponseTime"):
                etree.SubElement(attendee, t("LastResponseTime")).text = entry["LastResponseTime"]
    elif kind == "flag" and value:
        flag = etree.SubElement(parent, t(element))
        for key in ("FlagStatus", "StartDate", "DueDate", "CompleteDate"):
            if value.get(key):
                etree.SubElement(flag, t(key)).text = value[key]
    elif kind == "recurrence" and value:
        _recurrence(parent, value)
    elif kind == "first" and item.get("CalendarItemType") == "RecurringMaster":
        first = next(occurrences(item), None)
        if first is not None:
            occ = etree.SubElement(parent, t(element))
            etree.SubElement(occ, t("ItemId"), Id=mint_id(item, first[0]),
                             ChangeKey=item["ChangeKey"])
            for name, when in (("Start", first[1]), ("End", first[2]), ("OriginalStart", first[1])):
                etree.SubElement(occ, t(name)).text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif kind == "deleted" and value:
        deleted = etree.SubElement(parent, t(element))
        wanted = set(value)
        for index, start, _ in occurrences(item):
            if index > max(wanted):
                break
            if index in wanted:
                etree.SubElement(etree.SubElement(deleted, t("DeletedOccurrence")),
                                 t("Start")).text = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif kind == "tz" and item.get("TimeZone"):
        zone = item["TimeZone"]
        etree.SubElement(parent, t(element), Id=WINDOWS_ZONES.get(zone, "UTC"), Name=zone)
    elif kind == "extended":
        for uri in shape.extended:
            text = _extended_value(item, uri)
            if text is None:
                continue
            prop = etree.SubElement(parent, t("ExtendedProperty"))
            etree.SubElement(prop, t("ExtendedFieldURI"), uri)
            etree.SubElement(prop, t("Value")).text = text


def render_item(parent: etree._Element, item: dict[str, Any], shape: Shape,
                mint_id: Callable[[dict[str, Any], int], str]) -> etree._Element:
    """Append `<t:Message>` / `<t:CalendarItem>` with the properties `shape` asks for."""
    elem = etree.SubElement(parent, t(item["Kind"]))
    etree.SubElement(elem, t("ItemId"), Id=item["ItemId"], ChangeKey=item["ChangeKey"])
    specific = MESSAGE_FIELDS if item["Kind"] == "Message" else CALENDAR_FIELDS
    for field_uri, element, kind in ITEM_FIELDS + specific:
        if kind == "extended" or shape.wants(field_uri):
            _add(elem, item, element, kind, shape, mint_id)
    return elem


# ---------------------------------------------------------------- Restriction, SortOrder

_ELEMENT_OF = {uri: element for uri, element, _ in ITEM_FIELDS + MESSAGE_FIELDS + CALENDAR_FIELDS}


def field_value(item: dict[str, Any], field_uri: str) -> Any:
    """A property's comparable value (mailboxes compare by address)."""
    value = item.get(_ELEMENT_OF.get(field_uri, ""))
    if isinstance(value, dict):
        return value.get("EmailAddress") or value.get("FlagStatus")
    return value


def _coerce(value: Any, constant: str) -> tuple[Any, Any]:
    if isinstance(value, bool):
        return value, constant.strip().lower() == "true"
    if isinstance(value, int):
        return value, int(constant)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        from sandbox.ews.soap import parse_dt

        return parse_dt(value), parse_dt(constant)
    return str(value).casefold(), constant.casefold()


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": lambda a, b: a == b, "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b, "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b, "IsLessThanOrEqualTo": lambda a, b: a <= b}


def matches(item: dict[str, Any], node: etree._Element) -> bool:
    """Evaluate a Restriction (or any of its search expressions) against an item."""
    local = etree.QName(node).localname
    if local == "Restriction":
        return all(matches(item, child) for child in node)
    if local == "And":
        return all(matches(item, child) for child in node)
    if local == "Or":
        return any(matches(item, child) for child in node)
    if local == "Not":
        return not matches(item, node[0])
    uri_elem = node.find(t("FieldURI"))
    uri = uri_elem.get("FieldURI", "") if uri_elem is not None else ""
    value = field_value(item, uri)
    if local == "Exists":
        return value not in (None, "", [])
    if local == "Contains":
        constant = node.find(t("Constant"))
        needle = constant.get("Value", "") if constant is not None else ""
        haystacks = value if isinstance(value, list) else [value or ""]
        if "IgnoreCase" in node.get("ContainmentComparison", "Exact"):
            needle, haystacks = needle.casefold(), [str(h).casefold() for h in haystacks]
        mode = node.get("ContainmentMode", "Substring")
        test = {"FullString": lambda h: h == needle, "Prefixed": lambda h: h.startswith(needle)
                }.get(mode, lambda h: needle in h)
        return any(test(str(h)) for h in haystacks)
    if local in _COMPARE:
        constant = node.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
        if value is None or constant is None:
            return False
        left, right = _coerce(value, constant.get("Value", ""))
        return _COMPARE[local](left, right)
    return True  # an expression the stand-in does not model restricts nothing


def sort_key(item: dict[str, Any], field_uri: str) -> tuple[int, Any]:
    """A key that sorts missing values first, as Exchange does in ascending order."""
    value = field_value(item, field_uri)
    if value is None:
        return (0, "")
    return (1, value if not isinstance(value, str) else value.casefold())
