"""The EWS stand-in's world: mailboxes, their well-known folders, messages and calendar
items, and a per-folder change log that SyncFolderItems replays.

Items are plain dicts keyed by EWS element names (`Subject`, `DateTimeReceived`,
`RequiredAttendees` ...), timestamps as ISO-8601 UTC strings, so that rendering them as
EWS XML is a walk over the keys and `dump`/`load` is one JSON line per item.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.compact import read_jsonl
from sandbox.ews.changelog import Change, ChangeLog, SyncStateError
from sandbox.ews.recurrence import occurrences

__all__ = ["WELL_KNOWN", "EwsStore", "SyncStateError", "mailbox_dict"]

#: the distinguished folders every mailbox has (msgfolderroot is the "Top of Information Store")
WELL_KNOWN = {"root": ("", "IPF"), "msgfolderroot": ("Top of Information Store", "IPF"),
              "inbox": ("Inbox", "IPF.Note"), "sentitems": ("Sent Items", "IPF.Note"),
              "calendar": ("Calendar", "IPF.Appointment")}
_DEFAULT_RETAIN = 5000


def mailbox_dict(address: str, name: str | None = None) -> dict[str, str]:
    """An EWS Mailbox (`Name`, `EmailAddress`, `RoutingType`, `MailboxType`)."""
    return {"Name": name or address, "EmailAddress": address, "RoutingType": "SMTP",
            "MailboxType": "Mailbox"}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class EwsStore:
    """Mailboxes, folders, items and change logs; `clock` gives "now" for every stamp."""

    def __init__(self, clock: Callable[[], datetime] | None = None,
                 retain: int = _DEFAULT_RETAIN) -> None:
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.changelog = ChangeLog(retain)
        self.mailboxes: dict[str, dict[str, str]] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self._counter = 0
        #: held by the SOAP endpoint for a whole request, so a response is one consistent view
        self.lock = threading.RLock()

    # ---------------------------------------------------------------- mailboxes and folders

    def add_mailbox(self, address: str, name: str) -> dict[str, str]:
        """Create a mailbox with its well-known folders (idempotent)."""
        address = address.lower()
        with self.lock:
            if address not in self.mailboxes:
                self.mailboxes[address] = {"address": address, "name": name}
                for distinguished, (display, klass) in WELL_KNOWN.items():
                    fid = _b64(f"folder:{address}:{distinguished}")
                    parent = None if distinguished == "root" else (
                        _b64(f"folder:{address}:root") if distinguished == "msgfolderroot"
                        else _b64(f"folder:{address}:msgfolderroot"))
                    self.folders[fid] = {"id": fid, "mailbox": address, "parent": parent,
                                         "distinguished": distinguished,
                                         "DisplayName": display, "FolderClass": klass}
                    self.changelog.open(fid)
            return self.mailboxes[address]

    def folder(self, address: str, distinguished: str) -> dict[str, Any]:
        """A mailbox's well-known folder; KeyError if there is none."""
        return self.folders[_b64(f"folder:{address.lower()}:{distinguished}")]

    def folder_items(self, folder_id: str) -> list[dict[str, Any]]:
        """The items in a folder, in no particular order."""
        return [i for i in self.items.values() if i["ParentFolderId"] == folder_id]

    def person(self, address: str) -> dict[str, str]:
        """A Mailbox dict for an address, named if it belongs to a mailbox here."""
        known = self.mailboxes.get(address.lower())
        return mailbox_dict(address.lower(), known["name"] if known else None)

    # ---------------------------------------------------------------- items and the log

    def _new_id(self, kind: str) -> str:
        self._counter += 1
        # Real ids are long opaque base64 blobs; the prefix mimics "AAMk..." entry ids.
        return "AAMk" + _b64(f"{kind}:{self._counter:08d}")

    @property
    def retain(self) -> int:
        """How many change-log entries each folder keeps; older SyncStates are rejected."""
        return self.changelog.retain

    @retain.setter
    def retain(self, value: int) -> None:
        self.changelog.retain = value

    def _record(self, folder_id: str, item_id: str, kind: str) -> None:
        self.changelog.record(folder_id, item_id, kind)

    def _put(self, item: dict[str, Any], folder_id: str) -> dict[str, Any]:
        now = _iso(self.clock())
        item.setdefault("ItemId", self._new_id(item["Kind"]))
        item.update(ParentFolderId=folder_id, Mailbox=self.folders[folder_id]["mailbox"],
                    DateTimeCreated=item.get("DateTimeCreated", now), LastModifiedTime=now,
                    ChangeKey=_b64(f"ck:{item['ItemId']}:1"), Version=1)
        item.setdefault("DateTimeReceived", now)
        self.items[item["ItemId"]] = item
        self._record(folder_id, item["ItemId"], "create")
        return item

    def _touch(self, item: dict[str, Any], kind: str = "update") -> None:
        # Every change bumps the ChangeKey and LastModifiedTime, as Exchange does.
        item["Version"] = item.get("Version", 1) + 1
        item["ChangeKey"] = _b64(f"ck:{item['ItemId']}:{item['Version']}")
        item["LastModifiedTime"] = _iso(self.clock())
        self._record(item["ParentFolderId"], item["ItemId"], kind)

    def get(self, item_id: str) -> dict[str, Any]:
        """An item by id; KeyError when there is none."""
        return self.items[item_id]

    def delete_item(self, item_id: str) -> None:
        """Delete an item (hard delete: it leaves the folder and the sync log says so)."""
        with self.lock:
            item = self.items.pop(item_id)
            self._record(item["ParentFolderId"], item_id, "delete")

    # ---------------------------------------------------------------- mail

    def send_message(self, sender: str, to: Iterable[str], subject: str, body: str = "",
                     cc: Iterable[str] = (), importance: str = "Normal",
                     categories: Iterable[str] = (), in_reply_to: str | None = None,
                     conversation_id: str | None = None, sender_name: str | None = None,
                     sent: datetime | None = None) -> dict[str, Any] | None:
        """Send mail: a copy in the sender's Sent Items (if a mailbox here) and in each
        recipient's Inbox. Returns the sender's copy, or the first delivered one."""
        with self.lock:
            when = _iso(sent or self.clock())
            to, cc = [a.lower() for a in to], [a.lower() for a in cc]
            author = self.person(sender) if sender.lower() in self.mailboxes else \
                mailbox_dict(sender.lower(), sender_name)
            self._counter += 1
            message_id = f"<{self._counter}.{hashlib.sha256(subject.encode()).hexdigest()[:12]}" \
                         f"@{sender.split('@')[-1]}>"
            topic = subject
            for prefix in ("RE: ", "Re: ", "FW: ", "Fwd: "):
                topic = topic.removeprefix(prefix)
            conversation = conversation_id or "AAQk" + _b64(hashlib.sha256(
                topic.encode()).hexdigest()[:20])
            base = {"Kind": "Message", "ItemClass": "IPM.Note", "Subject": subject,
                    "Sensitivity": "Normal", "Body": body, "DateTimeSent": when,
                    "DateTimeReceived": when, "DateTimeCreated": when, "Importance": importance,
                    "Categories": list(categories), "InReplyTo": in_reply_to,
                    "ConversationId": conversation, "ConversationTopic": topic,
                    "InternetMessageId": message_id, "Sender": author, "From": author,
                    "ToRecipients": [self.person(a) for a in to],
                    "CcRecipients": [self.person(a) for a in cc],
                    "Flag": {"FlagStatus": "NotFlagged"}, "LastVerbExecuted": None}
            first: dict[str, Any] | None = None
            if sender.lower() in self.mailboxes:
                first = self._put({**base, "IsRead": True},
                                  self.folder(sender, "sentitems")["id"])
            for address in dict.fromkeys(to + cc):
                if address in self.mailboxes:
                    copy = self._put(json.loads(json.dumps({**base, "IsRead": False})),
                                     self.folder(address, "inbox")["id"])
                    first = first or copy
            return first

    def flag(self, item_id: str, status: str = "Flagged", start: datetime | None = None,
             due: datetime | None = None) -> dict[str, Any]:
        """Set the follow-up flag: NotFlagged, Flagged (with optional dates) or Complete."""
        if status not in ("NotFlagged", "Flagged", "Complete"):
            raise ValueError(f"unknown FlagStatus {status!r}")
        with self.lock:
            item = self.items[item_id]
            flag: dict[str, Any] = {"FlagStatus": status}
            if status == "Flagged":
                flag.update(StartDate=_iso(start) if start else None,
                            DueDate=_iso(due) if due else None)
            elif status == "Complete":
                previous = item.get("Flag") or {}
                flag.update(StartDate=previous.get("StartDate"), DueDate=previous.get("DueDate"),
                            CompleteDate=_iso(self.clock()))
            item["Flag"] = flag
            self._touch(item)
            return item

    def mark_read(self, item_id: str, is_read: bool = True) -> dict[str, Any]:
        """Mark a message read or unread (a ReadFlagChange in SyncFolderItems)."""
        with self.lock:
            item = self.items[item_id]
            item["IsRead"] = is_read
            self._touch(item, "read")
            return item

    def reply(self, item_id: str, body: str = "", reply_all: bool = False,
              sent: datetime | None = None) -> dict[str, Any] | None:
        """Reply to a received message as its mailbox owner; marks the original answered
        (PR_LAST_VERB_EXECUTED 102 reply / 103 reply all)."""
        with self.lock:
            original = self.items[item_id]
            owner = original["Mailbox"]
            to = [original["From"]["EmailAddress"]]
            cc = [r["EmailAddress"] for r in original["ToRecipients"] + original["CcRecipients"]
                  if reply_all and r["EmailAddress"] != owner]
            original["LastVerbExecuted"] = 103 if reply_all else 102
            original["LastVerbExecutionTime"] = _iso(sent or self.clock())
            original["IsRead"] = True
            self._touch(original)
            return self.send_message(owner, to, "RE: " + original.get("ConversationTopic", ""),
                                     body, cc=cc, in_reply_to=original["InternetMessageId"],
                                     conversation_id=original["ConversationId"], sent=sent)

    # ---------------------------------------------------------------- calendar

    def copies(self, uid: str) -> list[dict[str, Any]]:
        """Every calendar item (organiser's and attendees') with this UID."""
        return [i for i in self.items.values() if i.get("UID") == uid]

    def add_meeting(self, organizer: str, subject: str, start: datetime, end: datetime,
                    required: Iterable[str] = (), optional: Iterable[str] = (),
                    location: str = "", all_day: bool = False, free_busy: str = "Busy",
                    sensitivity: str = "Normal", recurrence: dict[str, Any] | None = None,
                    timezone: str = "UTC", uid: str | None = None) -> dict[str, Any]:
        """Create a meeting (or an appointment without attendees) in the organiser's and
        every attendee's calendar, all with the same UID. `recurrence` is
        {"Pattern": "Daily"|"Weekly", "Interval", "DaysOfWeek", "StartDate", "EndDate"|
        "NumberOfOccurrences"}; returns the organiser's item."""
        with self.lock:
            self._counter += 1
            uid = uid or hashlib.sha256(f"{organizer}|{subject}|{start}|{self._counter}".encode()
                                        ).hexdigest()[:32].upper()
            req, opt = [a.lower() for a in required], [a.lower() for a in optional]
            attendees = req + opt
            base = {"Kind": "CalendarItem", "ItemClass": "IPM.Appointment", "UID": uid,
                    "Subject": subject, "Sensitivity": sensitivity, "Body": "",
                    "Start": _iso(start), "End": _iso(end), "IsAllDayEvent": all_day,
                    "LegacyFreeBusyStatus": free_busy, "Location": location,
                    "IsMeeting": bool(attendees), "IsCancelled": False,
                    "IsRecurring": recurrence is not None,
                    "CalendarItemType": "RecurringMaster" if recurrence else "Single",
                    "Organizer": self.person(organizer),
                    "RequiredAttendees": [{"Mailbox": self.person(a),
                                           "ResponseType": "NoResponseReceived"} for a in req],
                    "OptionalAttendees": [{"Mailbox": self.person(a),
                                           "ResponseType": "NoResponseReceived"} for a in opt],
                    "Recurrence": recurrence, "TimeZone": timezone,
                    "AppointmentSequenceNumber": 0, "DeletedOccurrences": [],
                    "Importance": "Normal", "Categories": [], "ConversationId": None,
                    "Flag": {"FlagStatus": "NotFlagged"}}
            organizer_item = self._put({**base, "MyResponseType": "Organizer"},
                                       self.folder(organizer, "calendar")["id"])
            for address in dict.fromkeys(attendees):
                if address in self.mailboxes and address != organizer.lower():
                    self._put(json.loads(json.dumps({**base, "MyResponseType": "NoResponseReceived",
                                                     "LegacyFreeBusyStatus": "Tentative"})),
                              self.folder(address, "calendar")["id"])
            return organizer_item

    def move_meeting(self, uid: str, start: datetime, end: datetime) -> None:
        """Reschedule every copy of a meeting (a series moves its pattern's start too)."""
        with self.lock:
            for item in self.copies(uid):
                item["Start"], item["End"] = _iso(start), _iso(end)
                if item.get("Recurrence"):
                    item["Recurrence"]["StartDate"] = start.date().isoformat()
                item["AppointmentSequenceNumber"] = item.get("AppointmentSequenceNumber", 0) + 1
                self._touch(item)

    def cancel_meeting(self, uid: str) -> None:
        """The organiser cancels: their copy goes, attendees' copies say "Canceled:"."""
        with self.lock:
            for item in self.copies(uid):
                if item["MyResponseType"] == "Organizer":
                    self.delete_item(item["ItemId"])
                    continue
                item["IsCancelled"] = True
                item["LegacyFreeBusyStatus"] = "Free"
                item["Subject"] = "Canceled: " + item["Subject"].removeprefix("Canceled: ")
                self._touch(item)

    def respond(self, uid: str, attendee: str, response: str) -> None:
        """An attendee answers Accept, Tentative or Decline; the organiser's copy records it,
        a declined meeting leaves the attendee's calendar."""
        if response not in ("Accept", "Tentative", "Decline"):
            raise ValueError(f"unknown response {response!r}")
        attendee = attendee.lower()
        with self.lock:
            for item in self.copies(uid):
                if item["MyResponseType"] == "Organizer":
                    for entry in item["RequiredAttendees"] + item["OptionalAttendees"]:
                        if entry["Mailbox"]["EmailAddress"] == attendee:
                            entry["ResponseType"] = response
                            entry["LastResponseTime"] = _iso(self.clock())
                    self._touch(item)
                elif item["Mailbox"] == attendee:
                    if response == "Decline":
                        self.delete_item(item["ItemId"])
                        continue
                    item["MyResponseType"] = response
                    item["LegacyFreeBusyStatus"] = "Busy" if response == "Accept" else "Tentative"
                    self._touch(item)

    def expand(self, item: dict[str, Any], start: datetime,
               end: datetime) -> Iterator[dict[str, Any]]:
        """The item itself, or for a recurring master its occurrences, overlapping [start, end)."""
        if item.get("CalendarItemType") != "RecurringMaster":
            if datetime.fromisoformat(item["Start"]) < end and \
                    datetime.fromisoformat(item["End"]) > start:
                yield item
            return
        for index, occ_start, occ_end in occurrences(item):
            if occ_start >= end:
                break
            if occ_end <= start or index in item.get("DeletedOccurrences", []):
                continue
            yield self.occurrence(item, index, occ_start, occ_end)

    def occurrence(self, master: dict[str, Any], index: int, start: datetime | None = None,
                   end: datetime | None = None) -> dict[str, Any]:
        """Occurrence number `index` of a recurring master, as an item of its own."""
        if start is None or end is None:
            start, end = next((s, e) for i, s, e in occurrences(master) if i == index)
        return {**master, "ItemId": "AAMk" + _b64(f"occ:{master['ItemId']}:{index}"),
                "CalendarItemType": "Occurrence", "Recurrence": None, "Start": _iso(start),
                "End": _iso(end), "RecurrenceId": _iso(start), "OriginalStart": _iso(start),
                "MasterId": master["ItemId"], "InstanceIndex": index}

    def resolve_id(self, item_id: str) -> dict[str, Any]:
        """An item by id, including occurrence ids minted by `occurrence`."""
        if item_id in self.items:
            return self.items[item_id]
        try:
            decoded = base64.b64decode(item_id.removeprefix("AAMk")).decode()
        except ValueError as exc:
            raise KeyError(item_id) from exc
        kind, _, rest = decoded.partition(":")
        if kind != "occ":
            raise KeyError(item_id)
        master_id, _, index = rest.rpartition(":")
        return self.occurrence(self.items[master_id], int(index))

    # ---------------------------------------------------------------- SyncFolderItems

    def sync(self, folder_id: str, state: str | None,
             max_changes: int = 100) -> tuple[list[Change], str, bool]:
        """SyncFolderItems: ([(kind, item)], new SyncState, includes last item in range);
        raises SyncStateError for a bad or expired state (see `ChangeLog.changes`)."""
        with self.lock:
            return self.changelog.changes(folder_id, state, max_changes, self.items)

    # ---------------------------------------------------------------- persistence

    def dump(self, folder: Path) -> None:
        """Write mailboxes.jsonl, folders.jsonl, items.jsonl and log.jsonl."""
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            tables: dict[str, Iterable[Any]] = {
                "mailboxes": self.mailboxes.values(), "folders": self.folders.values(),
                "items": self.items.values(),
                "log": self.changelog.to_rows(),
                "meta": [{"counter": self._counter, "retain": self.retain}]}
            for name, rows in tables.items():
                (folder / f"{name}.jsonl").write_text(
                    "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))

    @classmethod
    def load(cls, folder: Path, clock: Callable[[], datetime] | None = None) -> EwsStore:
        """Read what `dump` wrote."""
        def rows(name: str) -> list[Any]:
            path = folder / f"{name}.jsonl"
            return read_jsonl(path)

        meta = rows("meta")[0]
        store = cls(clock=clock, retain=meta["retain"])
        store._counter = meta["counter"]
        store.mailboxes = {m["address"]: m for m in rows("mailboxes")}
        store.folders = {f["id"]: f for f in rows("folders")}
        store.items = {i["ItemId"]: i for i in rows("items")}
        store.changelog.load_rows(rows("log"))
        return store
