"""Exchange records -> work items: requests by email, and meetings keyed like CalDAV's.

Messages (`messages` stream): a message is work only when someone has to act on it:
- it is flagged for follow-up (Flagged -> todo, Complete -> done; due = the flag's due), or
- with `direct_requests`, it sits in the Inbox, is addressed To the mailbox owner, comes
  from someone of the org (a domain in `internal_domains` or a configured person's
  address), and is a request until answered (unanswered -> todo, answered -> done).
Everything else (newsletters, cc's, mail from outside) returns None: it counts as email
load only. The mailbox owner is the assignee, the sender the requester, To/Cc recipients.

Calendar (`calendar` stream): one record is one meeting in one mailbox with the
occurrences the server expanded; it becomes the item `ical:<UID>` exactly as CalDAV's
normalizer keys it, so the same meeting seen in several mailboxes, and in CalDAV,
merges into one item. The mailbox owner's own response (MyResponseType) is
authoritative for them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from connectors.exchange.settings import ExchangeSourceConfig
from connectors.jira.settings import JiraSourceConfig
from model import BusyStatus, ItemKind, Response, Role, StatusCategory
from pipelines.identity import canonical_email
from pipelines.normalize.context import Fragment, NormalizeContext, Record
from pipelines.normalize.drafts import (
    InvolvementDraft,
    ItemDraft,
    LinkDraft,
    NormalizeError,
    OccurrenceDraft,
)
from pipelines.normalize.ical import is_absence
from workhub.config import WorkhubConfig

__all__ = [
    "calendar_fragment",
    "due_from_flag",
    "jira_keys",
    "message_fragment",
    "normalize_record",
    "outlook_url",
]

#: PR_LAST_VERB_EXECUTED values that mean the owner answered: reply, reply all
ANSWERED_VERBS = {102, 103}
_FOLDER_NAMES = {"inbox": "Inbox", "sentitems": "Sent Items", "calendar": "Calendar"}
_IMPORTANCE = {"High": 1, "Normal": 2, "Low": 3}
_RESPONSE = {
    "Organizer": Response.accepted,
    "Accept": Response.accepted,
    "Tentative": Response.tentative,
    "Decline": Response.declined,
    "NoResponseReceived": Response.needs_action,
    "Unknown": Response.needs_action,
}
_BUSY = {
    "Free": BusyStatus.free,
    "Tentative": BusyStatus.tentative,
    "Busy": BusyStatus.busy,
    "OOF": BusyStatus.oof,
    "WorkingElsewhere": BusyStatus.busy,
    "NoData": BusyStatus.busy,
}
_JIRA_KEY = re.compile(r"\b([A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,6})\b")


# ---------------------------------------------------------------- shared helpers


def _source(record: Record, ctx: NormalizeContext) -> ExchangeSourceConfig | None:
    cfg = ctx.source_config(record.source_id)
    return cfg if isinstance(cfg, ExchangeSourceConfig) else None


def _timestamp(value: Any, what: str) -> datetime | None:
    """An ISO-8601 timestamp from the payload as aware UTC (None when absent)."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise NormalizeError(f"{what}: not a timestamp: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def outlook_url(endpoint: str | None, item_id: str, calendar: bool = False) -> str:
    """The Outlook on the web deep link of an item, formed from the EWS endpoint
    (`https://host/EWS/Exchange.asmx` -> `https://host/owa/?ItemID=...`), else `ews:<id>`."""
    marker = "/ews/"
    if endpoint and marker in endpoint.lower():
        base = endpoint[: endpoint.lower().index(marker)]
        view = "ICalendarItemDetailsViewModelFactory" if calendar else "ReadMessageItem"
        return f"{base}/owa/?ItemID={quote(item_id, safe='')}&exvsurl=1&viewmodel={view}"
    return f"ews:{item_id}"


def jira_keys(text: str, projects: set[str] | None = None) -> list[str]:
    """Jira issue keys named in a text, in order, once each (only of `projects` if given)."""
    found = dict.fromkeys(
        key for key in _JIRA_KEY.findall(text or "")
        if not projects or key.rsplit("-", 1)[0] in projects
    )
    return list(found)


def _jira_projects(config: WorkhubConfig) -> set[str] | None:
    """The project keys of the configured Jira sources; None when none are listed."""
    keys = {p.upper() for s in config.sources if isinstance(s, JiraSourceConfig)
            for p in s.projects}
    return keys or None


def _address(box: Any) -> str | None:
    if isinstance(box, dict) and box.get("EmailAddress"):
        return str(box["EmailAddress"]).strip().lower()
    return None


def _name(box: Any) -> str | None:
    return str(box["Name"]) if isinstance(box, dict) and box.get("Name") else None


# ---------------------------------------------------------------- messages


def due_from_flag(value: Any, ctx: NormalizeContext) -> datetime | None:
    """The flag's due moment in UTC. Outlook stores a flag's due *date* as midnight
    (PidLidTaskDueDate); a date means the end of that day in the org's time zone."""
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) == 10:  # a bare ISO date
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise NormalizeError(f"flag due date: not a date: {value!r}") from exc
    else:
        moment = _timestamp(text, "flag due date")
        if moment is None or moment.time() != time(0):
            return moment
        day = moment.date()
    end_of_day = datetime.combine(day, time(23, 59, 59), tzinfo=ctx.org_timezone)
    return end_of_day.astimezone(UTC)


def _org_addresses(config: WorkhubConfig) -> set[str]:
    """Canonical addresses of the configured people (their email and email aliases)."""
    aliases = config.org.domain_aliases
    out = set()
    for person in config.org.people:
        for address in [person.email, *person.aliases]:
            if address and "@" in address:
                out.add(canonical_email(address, aliases))
    return out


def _is_internal(sender: str, cfg: ExchangeSourceConfig | None, config: WorkhubConfig) -> bool:
    aliases = config.org.domain_aliases
    canonical = canonical_email(sender, aliases)
    domains = {aliases.get(d.lower(), d.lower()) for d in (cfg.internal_domains if cfg else [])}
    return canonical.partition("@")[2] in domains or canonical in _org_addresses(config)


def message_fragment(record: Record, ctx: NormalizeContext) -> Fragment | None:
    """The request one stored message is, or None when it asks nothing of its owner."""
    p = record.payload
    owner, folder, item_id = p.get("mailbox"), p.get("folder"), p.get("ItemId")
    if not owner or not folder or not item_id:
        raise NormalizeError("message record without mailbox, folder or ItemId")
    owner = str(owner).lower()
    cfg = _source(record, ctx)
    aliases = ctx.config.org.domain_aliases
    flag: dict[str, Any] = p["Flag"] if isinstance(p.get("Flag"), dict) else {}
    flag_status = str(flag.get("FlagStatus") or "NotFlagged")
    answered = p.get("LastVerbExecuted") in ANSWERED_VERBS
    sender = _address(p.get("From")) or _address(p.get("Sender"))
    to = [a for a in (_address(b) for b in p.get("ToRecipients") or []) if a]
    cc = [a for a in (_address(b) for b in p.get("CcRecipients") or []) if a]
    me = canonical_email(owner, aliases)
    direct = (
        (cfg.direct_requests if cfg else True)
        and folder == "inbox"
        and sender is not None
        and canonical_email(sender, aliases) != me
        and me in {canonical_email(a, aliases) for a in to}
        and _is_internal(sender, cfg, ctx.config)
    )
    due: datetime | None = None
    start: datetime | None = None
    if flag_status in ("Flagged", "Complete"):
        reason, raw = "flagged", flag_status
        category = StatusCategory.done if flag_status == "Complete" else StatusCategory.todo
        due = due_from_flag(flag.get("DueDate"), ctx)
        start = _timestamp(flag.get("StartDate"), "flag start date")
    elif direct:
        reason, raw = "request", "Answered" if answered else "Unanswered"
        category = StatusCategory.done if answered else StatusCategory.todo
    else:
        return None  # email load only: nothing for anyone to do

    # One involvement per address: the owner acts, the sender asked, the rest were told.
    people: dict[str, InvolvementDraft] = {}
    boxes = {a: _name(b) for b in [*(p.get("ToRecipients") or []), *(p.get("CcRecipients") or []),
                                   p.get("From"), p.get("Sender")] if (a := _address(b))}
    people[owner] = InvolvementDraft("email", owner, Role.assignee,
                                     display_name=boxes.get(owner), email=owner)
    if sender and sender not in people:
        people[sender] = InvolvementDraft("email", sender, Role.requester,
                                          display_name=boxes.get(sender), email=sender)
    for address in [*to, *cc]:
        if address not in people:
            people[address] = InvolvementDraft("email", address, Role.recipient,
                                               display_name=boxes.get(address), email=address)

    subject = str(p.get("Subject") or "").strip()
    stable = p.get("InternetMessageId") or item_id
    slug = ctx.sources[record.source_id][0]
    extra: dict[str, Any] = {"reason": reason, "folder": folder}
    for key, name in (("ConversationId", "conversation_id"),
                      ("InternetMessageId", "internet_message_id")):
        if p.get(key):
            extra[name] = p[key]
    if p.get("Categories"):
        extra["categories"] = list(p["Categories"])
    draft = ItemDraft(
        key=f"{slug}:{owner}/{stable}",
        external_id=f"{owner}/{stable}",
        kind=ItemKind.email,
        title=subject or "(no subject)",
        url=outlook_url(cfg.endpoint if cfg else None, str(item_id)),
        container=f"{owner}/{_FOLDER_NAMES.get(folder, folder)}",
        status_raw=raw,
        status_category=category,
        priority=_IMPORTANCE.get(str(p.get("Importance"))),
        created_at=_timestamp(p.get("DateTimeReceived") or p.get("DateTimeSent"), "received"),
        updated_at=_timestamp(p.get("LastModifiedTime"), "LastModifiedTime"),
        due_at=due,
        start_at=start,
        extra=extra,
        involvements=list(people.values()),
        links=[LinkDraft("references", key, evidence="subject")
               for key in jira_keys(subject, _jira_projects(ctx.config))],
    )
    # A sender's and a recipient's copy are different items (different owners); two
    # copies in one mailbox (inbox and sent, mail to oneself) merge, the newest winning.
    stamp = draft.updated_at.timestamp() if draft.updated_at else 0.0
    return Fragment.of(record, draft, rank=(int(folder == "inbox"), stamp, -record.id))


# ---------------------------------------------------------------- calendar


def _span(occ: dict[str, Any], uid: str) -> tuple[datetime, datetime, bool]:
    """An occurrence's start and end in UTC, and whether it is all-day (dates -> midnight
    UTC of those dates, as the iCalendar helpers store them)."""
    start_text, end_text = str(occ.get("Start") or ""), str(occ.get("End") or "")
    if not start_text or not end_text:
        raise NormalizeError(f"meeting {uid}: an occurrence has no Start or End")
    all_day = len(start_text) == 10
    try:
        if all_day:
            start = datetime.combine(date.fromisoformat(start_text), time(0), tzinfo=UTC)
            end = datetime.combine(date.fromisoformat(end_text[:10]), time(0), tzinfo=UTC)
        else:
            start = _timestamp(start_text, f"meeting {uid}: Start") or datetime.min
            end = _timestamp(end_text, f"meeting {uid}: End") or datetime.min
    except ValueError as exc:
        raise NormalizeError(f"meeting {uid}: bad date: {exc}") from exc
    if end < start:
        raise NormalizeError(f"meeting {uid}: End {end_text} is before Start {start_text}")
    return start, end, all_day


def _attendees(p: dict[str, Any]) -> list[InvolvementDraft]:
    organizer = _address(p.get("Organizer"))
    out: dict[str, InvolvementDraft] = {}
    if organizer:
        out[organizer] = InvolvementDraft("email", organizer, Role.organizer, Response.accepted,
                                          display_name=_name(p.get("Organizer")), email=organizer)
    for entry in [*(p.get("RequiredAttendees") or []), *(p.get("OptionalAttendees") or [])]:
        box = entry.get("Mailbox") if isinstance(entry, dict) else None
        address = _address(box)
        if not address or address in out:
            continue
        response = _RESPONSE.get(str(entry.get("ResponseType")), Response.needs_action)
        out[address] = InvolvementDraft("email", address, Role.attendee, response,
                                        display_name=_name(box), email=address)
    return list(out.values())


def calendar_fragment(record: Record, ctx: NormalizeContext) -> Fragment:
    """The meeting (or absence) one mailbox's calendar shows, as the item `ical:<UID>`."""
    p = record.payload
    owner, uid, raw_occurrences = p.get("mailbox"), p.get("UID"), p.get("Occurrences")
    if not owner or not uid or not isinstance(raw_occurrences, list) or not raw_occurrences:
        raise NormalizeError("calendar record without mailbox, UID or occurrences")
    owner = str(owner).lower()
    cfg = _source(record, ctx)
    past = timedelta(weeks=cfg.window.past_weeks if cfg else 8)
    future = timedelta(weeks=cfg.window.future_weeks if cfg else 26)
    window_start, window_end = ctx.now - past, ctx.now + future
    spans = [(_span(o, uid), o) for o in raw_occurrences if isinstance(o, dict)]
    spans.sort(key=lambda s: s[0][0])
    (first_start, first_end, all_day), _ = spans[0]
    occurrences: dict[datetime, OccurrenceDraft] = {}
    for (start, end, whole_day), occ in spans:
        if start < window_end and end > window_start:
            occurrences[start] = OccurrenceDraft(
                start=start, end=end, all_day=whole_day, cancelled=bool(occ.get("IsCancelled")),
                busy_status=_BUSY.get(str(occ.get("LegacyFreeBusyStatus"))))
    title = str(p.get("Subject") or "").strip() or "(no title)"
    status = _BUSY.get(str(p.get("LegacyFreeBusyStatus")), BusyStatus.busy)
    cancelled = bool(p.get("IsCancelled"))

    people = _attendees(p)
    mine = str(p.get("MyResponseType") or "Unknown")
    my_response = _RESPONSE.get(mine, Response.needs_action)
    listed = {inv.value: inv for inv in people}
    if owner in listed:
        role = Role.organizer if mine == "Organizer" else listed[owner].role
        me = InvolvementDraft("email", owner, role, my_response,
                              display_name=listed[owner].display_name, email=owner)
        people = [me if inv.value == owner else inv for inv in people]
    else:
        # An entry that names nobody is the owner's own (an absence, a focus block); one
        # that names others but not them was put there for them.
        role = Role.organizer if not people or mine == "Organizer" else Role.attendee
        me = InvolvementDraft("email", owner, role, my_response, email=owner)
        people.append(me)

    extra: dict[str, Any] = {}
    if p.get("Categories"):
        extra["categories"] = list(p["Categories"])
    if p.get("Location"):
        extra["location"] = p["Location"]
    updated_at = _timestamp(p.get("LastModifiedTime"), "LastModifiedTime")
    first_id = str(spans[0][1].get("ItemId") or uid)
    draft = ItemDraft(
        key=f"ical:{uid}",
        external_id=str(uid),
        kind=ItemKind.time_off
        if is_absence(title, status, ctx.config.org.absence_patterns)
        else ItemKind.meeting,
        title=title,
        url=outlook_url(cfg.endpoint if cfg else None, first_id, calendar=True),
        container=f"{owner}/Calendar",
        status_raw="Cancelled" if cancelled else str(p.get("LegacyFreeBusyStatus") or "") or None,
        status_category=StatusCategory.cancelled if cancelled else StatusCategory.todo,
        created_at=_timestamp(p.get("DateTimeCreated"), "DateTimeCreated"),
        updated_at=updated_at,
        start_at=first_start,
        end_at=first_end,
        all_day=all_day,
        private=str(p.get("Sensitivity") or "Normal") in ("Private", "Confidential"),
        busy_status=status,
        recurring=bool(p.get("IsRecurring")),
        extra=extra,
        involvements=people,
        occurrences=[occurrences[k] for k in sorted(occurrences)],
    )
    # Same rank shape as CalDAV's fragments, so the two compare when they merge.
    sequence = int(p.get("AppointmentSequenceNumber") or 0)
    stamp = updated_at.timestamp() if updated_at else 0.0
    return Fragment.of(record, draft, rank=(int(me.role is Role.organizer), sequence, stamp,
                                            -record.id), owner=me)


def normalize_record(record: Record, ctx: NormalizeContext) -> Fragment | None:
    """The runner's entry point: messages and calendar records by their stream."""
    if record.stream == "messages":
        return message_fragment(record, ctx)
    if record.stream == "calendar":
        return calendar_fragment(record, ctx)
    raise NormalizeError(f"unknown Exchange stream {record.stream!r}")
