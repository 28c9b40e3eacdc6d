"""An iCalendar feed (any .ics URL) as one `events` stream, one record per UID.

An unchanged feed costs one conditional request: the ETag / Last-Modified of the last
answer live in the cursor and go out as If-None-Match / If-Modified-Since; a 304 ends the
run before anything is read. Servers without validators are caught by the body's hash
in the cursor, so an identical feed is not split again either.

A changed feed is split textually (no iCalendar parser here) into one record per UID: the
master and its RECURRENCE-ID overrides together, with the feed's header properties
(X-WR-TIMEZONE, X-WR-CALNAME...) and the VTIMEZONEs the event names. So one malformed
event is quarantined alone by normalization, and an event that did not change hashes the
same. The last page carries a Snapshot of the UIDs: events that left the feed are
tombstoned. A body that is not a whole VCALENDAR (an HTML login page, a cut-off
download) fails the run instead of emptying the graph.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connectors.base import Cursor, Page, RawItem, Snapshot, Source, Stream
from connectors.errors import FatalError
from connectors.http import HttpClient, RequestBudget
from connectors.paging import ChunkPaginator, paginate

__all__ = ["EventsStream", "IcsSource", "split_feed"]

#: Records per landed page (one transaction each).
PAGE_SIZE = 200
_TZID = re.compile(r";TZID=(\"[^\"]*\"|[^;:]*)", re.IGNORECASE)
_MAX_ID = 400  # raw_record.external_id holds 500 characters


def _unfold(text: str) -> list[str]:
    """The content lines of an iCalendar text, folding undone (RFC 5545 3.1)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [line for line in re.sub(r"\n[ \t]", "", text).split("\n") if line.strip()]


def _name(line: str) -> str:
    """The property name of a content line, upper-cased."""
    return re.split(r"[;:]", line, maxsplit=1)[0].strip().upper()


def _value(line: str) -> str:
    """The value of a content line (after the first colon outside quotes)."""
    quoted = False
    for n, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[n + 1 :].strip()
    return ""


def _own_lines(block: list[str]) -> list[str]:
    """The component's own properties, without those of nested VALARMs (which may carry
    a UID of their own, RFC 9074)."""
    depth, own = 0, []
    for line in block:
        name = _name(line)
        depth += name == "BEGIN"
        if depth == 1 and name not in ("BEGIN", "END"):
            own.append(line)
        depth -= name == "END"
    return own


def _event_id(block: list[str]) -> str:
    uid = next((_value(line) for line in _own_lines(block) if _name(line) == "UID"), "")
    if not uid:
        # No UID (Exchange CDO exports): what identifies the event stands in for it.
        basis = "|".join(line for line in block if _name(line) in ("DTSTART", "SUMMARY",
                                                                   "ORGANIZER"))
        uid = "derived-" + hashlib.sha1(basis.encode()).hexdigest()[:20]  # noqa: S324
    if len(uid) > _MAX_ID:
        uid = "sha256-" + hashlib.sha256(uid.encode()).hexdigest()
    return uid


def split_feed(text: str) -> dict[str, str]:
    """UID -> a VCALENDAR holding that UID's VEVENTs, the header and their VTIMEZONEs."""
    lines = _unfold(text)
    if not lines or lines[0].upper() != "BEGIN:VCALENDAR":
        raise FatalError("the feed is not an iCalendar object (no BEGIN:VCALENDAR)")
    header: list[str] = []
    zones: dict[str, list[str]] = {}
    events: dict[str, list[str]] = {}
    stack: list[str] = []
    block: list[str] = []
    closed = False
    for line in lines:
        name = _name(line)
        if name == "BEGIN":
            stack.append(_value(line).upper())
            if len(stack) == 2:
                block = []
        if len(stack) >= 2:
            block.append(line)
        elif len(stack) == 1 and name not in ("BEGIN", "END") and line not in header:
            header.append(line)
        if name == "END":
            if not stack or stack[-1] != _value(line).upper():
                raise FatalError(f"the feed's components do not nest ({line!r})")
            kind = stack.pop()
            if len(stack) == 1 and kind == "VTIMEZONE":
                tzid = next((_value(x) for x in block if _name(x) == "TZID"), "")
                zones.setdefault(tzid, block)
            elif len(stack) == 1 and kind == "VEVENT":
                events.setdefault(_event_id(block), []).extend(block)
            closed = not stack
    if stack or not closed:
        raise FatalError("the feed is cut short (no END:VCALENDAR)")
    out: dict[str, str] = {}
    for uid, body in events.items():
        named = {m.strip('"') for line in body for m in _TZID.findall(line.split(":", 1)[0]
                                                                      + ":")}
        tz_lines = [x for tzid in sorted(named) for x in zones.get(tzid, [])]
        out[uid] = "\r\n".join(["BEGIN:VCALENDAR", *header, *tz_lines, *body,
                                "END:VCALENDAR", ""])
    return out


class EventsStream(Stream):
    """The feed's events, one record per UID."""

    name = "events"
    primary_key = "uid"
    cursor_field = None  # HTTP validators and the body's hash

    def __init__(self, source: IcsSource) -> None:
        self.source = source

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        source, client = self.source, self.source.client
        before = client.requests
        validators = {k: str(v) for k, v in (cursor or {}).items()
                      if k in ("etag", "last_modified") and v}
        result = client.get_conditional(source.url, validators)
        if result.response is None:
            yield Page(requests=client.requests - before)  # 304: nothing read, nothing kept
            return
        body = result.response.content
        digest = hashlib.sha256(body).hexdigest()
        state: Cursor = {**result.validators, "sha256": digest}
        if cursor and cursor.get("sha256") == digest:
            yield Page(cursor=state, requests=client.requests - before)
            return
        charset = result.response.charset_encoding or "utf-8"  # RFC 5545: UTF-8
        feed = split_feed(body.decode(charset, errors="replace"))
        records = [RawItem(uid, {"uid": uid, "ics": ics}) for uid, ics in feed.items()]
        paginator = ChunkPaginator(records, PAGE_SIZE)
        pages: Iterator[Page] = (
            paginate(lambda token: Page(records=list(paginator.chunk(token))), paginator)
            if records else iter([Page()]))
        page = next(pages)
        page.requests = client.requests - before
        for following in pages:
            yield page
            page = following
        # The snapshot and the validators ride on the last page: a crash repeats the feed.
        page.snapshot = Snapshot("", frozenset(feed), "no longer in the feed",
                                 source.max_delete_share)
        page.cursor = state
        yield page


class IcsSource(Source):
    """A published calendar at one URL."""

    kind = "ics"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        token: str | None = None,
        max_delete_share: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(name)
        self.url = url
        self.max_delete_share = max_delete_share
        headers: dict[str, Any] = {"Accept": "text/calendar, */*;q=0.5"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = HttpClient(source=name, headers=headers, budget=RequestBudget(),
                                 transport=transport, sleep=sleep)

    def streams(self) -> list[Stream]:
        return [EventsStream(self)]

    def close(self) -> None:
        self.client.close()
