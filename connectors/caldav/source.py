"""The CalDAV source: one account, every calendar it can read, one `events` stream.

Incremental with RFC 6578 sync-collection: the cursor holds one sync token per calendar.
Changed objects are fetched in batches with calendar-multiget, one batch a page. A first
sync (no token) and a server that falls back to a full listing (no sync support, or an
expired token; the library then hands back a "fake-" token) end with a Snapshot of the
calendar, so events that vanished in between are tombstoned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from caldav.davclient import DAVClient
from caldav.lib import error as caldav_error

from connectors.base import Cursor, Page, RawItem, Snapshot, Source, Stream
from connectors.errors import AuthError, FatalError, RetriableError
from connectors.http import retrying
from connectors.paging import ChunkPaginator, paginate

__all__ = ["CalDAVSource", "EventsStream", "object_id"]


def object_id(url: Any) -> str:
    """A calendar object's stable id: its unquoted path (servers quote '@' differently)."""
    return unquote(urlsplit(str(url)).path)


class _CountingClient(DAVClient):
    """DAVClient that counts the HTTP requests it sends, for the sync report."""

    requests = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        # Retries inside the library re-enter here; each is a real request.
        self.requests += 1
        return super().request(*args, **kwargs)


T = TypeVar("T")


def _call(source: str, fn: Callable[..., T], *args: Any) -> T:
    """Call the caldav library, retrying passing failures, raising our typed errors."""

    def attempt() -> T:
        try:
            return fn(*args)
        except caldav_error.AuthorizationError as exc:
            raise AuthError(
                f"{source}: the CalDAV server refused the credentials "
                f"(check the source's username and password): {exc}"
            ) from exc
        except caldav_error.NotFoundError as exc:
            raise FatalError(f"{source}: not found on the CalDAV server: {exc}") from exc
        except (caldav_error.DAVError, OSError) as exc:  # niquests' errors are OSErrors
            raise RetriableError(f"{source}: CalDAV request failed: {exc}") from exc

    return retrying(attempts=4, timeout=120)(attempt)


class EventsStream(Stream):
    """Calendar objects (VEVENTs with their overrides) of every calendar of the account."""

    name = "events"
    primary_key = "href"
    cursor_field = None  # sync tokens, one per calendar

    def __init__(self, source: CalDAVSource, page_size: int) -> None:
        self.source = source
        self.page_size = page_size

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        tokens: dict[str, str] = dict((cursor or {}).get("tokens", {}))
        calendars = self.source.calendars()
        for calendar in calendars:
            yield from self._read_calendar(calendar, tokens)

    def _read_calendar(self, calendar: Any, tokens: dict[str, str]) -> Iterator[Page]:
        client = self.source.client
        cal_id = object_id(calendar.url)
        old_token = tokens.get(cal_id)
        before = client.requests
        changes = _call(self.source.name, calendar.get_objects_by_sync_token, old_token, False)
        new_token = str(changes.sync_token)
        full_listing = old_token is None or new_token.startswith("fake-")
        deleted = (
            {object_id(u): "deleted on the CalDAV server" for u in changes.deleted_urls}
            if getattr(changes, "deleted_urls", None)
            else {}
        )
        changed = [o.url for o in changes.objects if object_id(o.url) not in deleted]
        present = frozenset(object_id(u) for u in changed)
        owner = self.source.owner_address()
        paginator = ChunkPaginator(changed, self.page_size)

        def fetch(token: int) -> Page:
            start = client.requests
            objects = _call(self.source.name, calendar.multiget, paginator.chunk(token))
            records = [
                RawItem(
                    object_id(obj.url),
                    {
                        "calendar": cal_id,
                        "calendar_name": _display_name(calendar),
                        "href": object_id(obj.url),
                        "etag": (obj.props or {}).get("{DAV:}getetag"),
                        "owner_address": owner,
                        "ics": obj.data,
                    },
                )
                for obj in objects
            ]
            return Page(records=records, requests=client.requests - start)

        # Deletions ride on the first page; the new token, and a snapshot after a full
        # listing, on the last: a crash before it repeats this calendar, which is harmless.
        pages: Iterator[Page] = paginate(fetch, paginator) if changed else iter([Page()])
        page = next(pages)
        page.deleted = deleted
        page.requests = client.requests - before
        for following in pages:
            yield page
            page = following
        tokens[cal_id] = new_token
        page.cursor = {"tokens": dict(tokens)}
        if full_listing:
            page.snapshot = Snapshot(scope=cal_id, present_ids=present)
        yield page


def _display_name(calendar: Any) -> str | None:
    try:
        return str(calendar.get_display_name() or "") or None
    except Exception:  # noqa: BLE001  (a missing display name must not fail the sync)
        return None


class CalDAVSource(Source):
    """A CalDAV account."""

    kind = "caldav"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        page_size: int = 100,
    ) -> None:
        super().__init__(name)
        self.url = url
        # Basic auth up front skips a 401 round trip per request (NOTES.md).
        self.client = (
            _CountingClient(url, username=username, password=password or "", auth_type="basic")
            if username
            else _CountingClient(url)
        )
        self.page_size = page_size
        self._principal: Any = None
        self._owner: str | None = None
        self._owner_known = False

    def principal(self) -> Any:
        """The account's principal (one PROPFIND, then cached)."""
        if self._principal is None:
            self._principal = _call(self.name, self.client.principal)
        return self._principal

    def calendars(self) -> list[Any]:
        """Every calendar of the account."""
        return list(_call(self.name, self.principal().calendars))

    def owner_address(self) -> str | None:
        """The account's own mailto: calendar-user address, when the server states one."""
        if not self._owner_known:
            try:
                addresses = self.principal().calendar_user_address_set()
            except (caldav_error.DAVError, KeyError, AttributeError):
                addresses = []
            mailto = [a for a in addresses if a and a.lower().startswith("mailto:")]
            self._owner = str(mailto[0])[7:].lower() if mailto else None
            self._owner_known = True
        return self._owner

    def streams(self) -> list[Stream]:
        return [EventsStream(self, self.page_size)]

    def close(self) -> None:
        self.client.close()
