"""The Exchange source: one EWS endpoint, one or many mailboxes, through exchangelib.

- `messages`: Inbox and Sent Items of every mailbox, incrementally with SyncFolderItems.
  The cursor holds one SyncState per mailbox folder. Each SyncFolderItems answer is one
  page; creates and updates land as records, deletes as `Page.deleted`, and a read-flag
  change refetches the message so the record stays a faithful copy. A listing from no
  state (first sync, or a re-sync after the server rejected a stale SyncState with
  ErrorInvalidSyncStateData) keeps the old cursor until its last page, which carries a
  Snapshot of the folder so messages that vanished meanwhile are tombstoned.
- `calendar`: a CalendarView over the rolling window per mailbox (the server expands
  recurring series), one record per meeting UID and mailbox, and a Snapshot per mailbox.

Throttling is exchangelib's job: `FaultTolerance` honours ErrorServerBusy's
BackOffMilliseconds up to `max_wait_seconds`, and the protocol's `RETRY_WAIT` (doubling)
is the back-off when the server names none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    Account,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    FaultTolerance,
)
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorImpersonateUserDenied,
    ErrorInternalServerTransientError,
    ErrorInvalidSyncStateData,
    ErrorMailboxStoreUnavailable,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    EWSError,
    RateLimitError,
    ResponseMessageError,
    TransportError,
    UnauthorizedError,
)
from exchangelib.items.base import ID_ONLY
from exchangelib.properties import ItemId
from exchangelib.protocol import Protocol
from exchangelib.services import SyncFolderItems

from connectors.base import Cursor, Page, RawItem, Snapshot, Source, Stream
from connectors.errors import AuthError, FatalError, RetriableError
from connectors.exchange.records import (
    CALENDAR_FIELDS,
    MESSAGE_FIELDS,
    calendar_payload,
    message_payload,
)
from connectors.exchange.settings import ExchangeSourceConfig
from connectors.http import retrying
from connectors.paging import Paginator, paginate
from workhub.source_config import secret

__all__ = ["CalendarStream", "ExchangeSource", "MessagesStream", "SyncPaginator", "record_id"]

#: the mail folders the messages stream follows (EWS distinguished folder ids)
MAIL_FOLDERS = ("inbox", "sentitems")
_UTC = EWSTimeZone("UTC")
#: distinguished folder id -> the exchangelib Account attribute of that folder
_FOLDER_ATTR = {"inbox": "inbox", "sentitems": "sent", "calendar": "calendar"}
T = TypeVar("T")
#: answers that say "not now": exchangelib has backed off already, we try the call again
_PASSING = (ErrorServerBusy, ErrorTimeoutExpired, ErrorInternalServerTransientError,
            ErrorMailboxStoreUnavailable)


def record_id(owner: str, folder: str, key: str) -> str:
    """A record's external id: mailbox, folder and the item's id (or a meeting's UID)."""
    return f"{owner}/{folder}/{key}"


def _call(source: str, fn: Callable[[], T]) -> T:
    """Run one exchangelib call, retrying passing failures, raising our typed errors.

    exchangelib already waits out ErrorServerBusy itself (FaultTolerance); what reaches
    us is a back-off longer than we accept, or a connection that keeps failing.
    """

    def attempt() -> T:
        try:
            return fn()
        except UnauthorizedError as exc:
            raise AuthError(
                f"{source}: Exchange refused the credentials (check the source's username "
                f"and password): {exc}"
            ) from exc
        except (ErrorAccessDenied, ErrorImpersonateUserDenied, ErrorNonExistentMailbox) as exc:
            raise AuthError(f"{source}: Exchange refused access to the mailbox: {exc}") from exc
        except ErrorInvalidSyncStateData:
            raise  # the stream recovers from this one itself
        except RateLimitError as exc:
            # Retrying at once would meet the same throttle: this run stops, the next
            # scheduled one starts afresh (the cursor has kept every landed page).
            raise FatalError(
                f"{source}: Exchange asked to back off {getattr(exc, 'wait', 0):.0f} s, longer "
                f"than max_wait_seconds allows; try again later"
            ) from exc
        except _PASSING as exc:
            raise RetriableError(f"{source}: Exchange is busy or unavailable: {exc}") from exc
        except ResponseMessageError as exc:
            # An answer with an error code that retrying will not change.
            raise FatalError(f"{source}: Exchange answered {type(exc).__name__}: {exc}") from exc
        except (TransportError, OSError) as exc:
            raise RetriableError(f"{source}: EWS request failed: {exc}") from exc
        except EWSError as exc:
            raise FatalError(f"{source}: Exchange answered {type(exc).__name__}: {exc}") from exc

    return retrying(attempts=4, timeout=900)(attempt)


# ---------------------------------------------------------------- messages


@dataclass
class _SyncAnswer:
    """One SyncFolderItems answer: the changes and the state after them."""

    changes: list[tuple[str, Any]]
    state: str | None
    last: bool


class SyncPaginator(Paginator[_SyncAnswer]):
    """SyncState paging: the next token is the state the last answer gave, until the
    server says it included the last change (or hands back the same state)."""

    def __init__(self, state: str | None) -> None:
        self.state = state

    def first_token(self) -> str | None:
        return self.state

    def next_token(self, response: _SyncAnswer, token: Any) -> str | None:
        if response.last or not response.state or response.state == token:
            return None
        return response.state


@dataclass
class _FolderRun:
    """What one folder's sync gathers across its pages."""

    listing: bool  # read from no state: every item comes as a create
    present: set[str] = field(default_factory=set)


class MessagesStream(Stream):
    """Messages of Inbox and Sent Items of every mailbox, via SyncFolderItems."""

    name = "messages"
    primary_key = "ItemId"
    cursor_field = None  # SyncStates, one per mailbox folder

    def __init__(self, source: ExchangeSource) -> None:
        self.source = source

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        states: dict[str, str] = dict((cursor or {}).get("sync_states", {}))
        for owner in self.source.mailboxes:
            for folder in MAIL_FOLDERS:
                yield from self._read_folder(owner, folder, states)

    def _read_folder(self, owner: str, folder_name: str, states: dict[str, str]) -> Iterator[Page]:
        key = f"{owner}/{folder_name}"
        try:
            yield from self._pages(owner, folder_name, states, states.get(key))
        except ErrorInvalidSyncStateData:
            if key not in states:
                raise FatalError(
                    f"{self.source.name}: {key}: the server rejected a sync from no state"
                ) from None
            # The server no longer serves this state (its change log moved on): list the
            # folder afresh, once; the snapshot at its end tombstones what vanished.
            states.pop(key)
            try:
                yield from self._pages(owner, folder_name, states, None)
            except ErrorInvalidSyncStateData as exc:
                raise FatalError(f"{self.source.name}: {key}: re-sync failed: {exc}") from exc

    def _pages(
        self, owner: str, folder_name: str, states: dict[str, str], state: str | None
    ) -> Iterator[Page]:
        account = self.source.account(owner)
        folder = _call(self.source.name, lambda: getattr(account, _FOLDER_ATTR[folder_name]))
        fields = self.source.message_fields()
        additional = {f for f in folder.normalize_fields(fields=fields) if not f.field.is_attribute}
        run = _FolderRun(listing=state is None)
        key = f"{owner}/{folder_name}"

        def fetch(token: str | None) -> _SyncAnswer:
            svc = SyncFolderItems(account=account)

            def once() -> list[tuple[str, Any]]:
                changes = []
                for change in svc.call(folder=folder, shape=ID_ONLY, additional_fields=additional,
                                       sync_state=token, ignore=None,
                                       max_changes_returned=self.source.page_size,
                                       sync_scope=None):
                    if isinstance(change, Exception):
                        raise change
                    changes.append(change)
                return changes

            return _SyncAnswer(_call(self.source.name, once), svc.sync_state,
                               bool(svc.includes_last_item_in_range))

        paginator = SyncPaginator(state)
        pages = paginate(fetch, paginator)
        answer = next(pages)
        for following in pages:
            yield self._page(account, owner, folder_name, answer, run, states, key, last=False)
            answer = following
        yield self._page(account, owner, folder_name, answer, run, states, key, last=True)

    def _page(self, account: Account, owner: str, folder_name: str, answer: _SyncAnswer,
              run: _FolderRun, states: dict[str, str], key: str, *, last: bool) -> Page:
        page = Page(requests=1)
        read_changes: list[ItemId] = []
        for kind, item in answer.changes:
            if kind in ("create", "update"):
                rid = record_id(owner, folder_name, item.id)
                page.records.append(RawItem(rid, message_payload(
                    item, owner, folder_name, store_bodies=self.source.cfg.store_bodies)))
                run.present.add(rid)
            elif kind == "delete":
                page.deleted[record_id(owner, folder_name, item.id)] = "deleted in Exchange"
                run.present.discard(record_id(owner, folder_name, item.id))
            elif kind == "read_flag_change":
                read_changes.append(item[0])
        if read_changes:
            # The change names only the id and the new flag: fetch the message again so the
            # stored record is a whole, current copy.
            fields = self.source.message_fields()
            fetched = _call(self.source.name, lambda: list(
                account.fetch(ids=[(i.id, i.changekey) for i in read_changes],
                              only_fields=fields)))
            page.requests += 1
            for item in fetched:
                if isinstance(item, Exception):  # gone since the change: the next sync says so
                    continue
                rid = record_id(owner, folder_name, item.id)
                page.records.append(RawItem(rid, message_payload(
                    item, owner, folder_name, store_bodies=self.source.cfg.store_bodies)))
        # An incremental page moves the cursor at once; a listing only on its last page,
        # so a crash half-way lists the folder again and still ends with the snapshot.
        if answer.state and (last or not run.listing):
            states[key] = answer.state
            page.cursor = {"sync_states": dict(states)}
        if last and run.listing:
            page.snapshot = Snapshot(
                scope=record_id(owner, folder_name, ""),
                present_ids=frozenset(run.present),
                reason="no longer in the Exchange folder",
                max_delete_share=self.source.cfg.max_delete_share,
            )
        return page


# ---------------------------------------------------------------- calendar


class CalendarStream(Stream):
    """Every meeting in each mailbox's calendar over the rolling window (CalendarView)."""

    name = "calendar"
    primary_key = "UID"
    cursor_field = None  # a full view each run; the snapshot tombstones what left it

    def __init__(self, source: ExchangeSource) -> None:
        self.source = source

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        start, end = self.source.window()
        for owner in self.source.mailboxes:
            yield self._read_mailbox(owner, start, end)

    def _read_mailbox(self, owner: str, start: datetime, end: datetime) -> Page:
        account = self.source.account(owner)

        def view() -> list[Any]:
            query = account.calendar.view(
                start=EWSDateTime.from_datetime(start).astimezone(_UTC),
                end=EWSDateTime.from_datetime(end).astimezone(_UTC),
            ).only(*CALENDAR_FIELDS)
            return list(query)

        items = _call(self.source.name, view)
        by_uid: dict[str, list[Any]] = {}
        for item in items:
            if isinstance(item, Exception):
                raise FatalError(f"{self.source.name}: {owner}: calendar view failed: {item}")
            # Appointments always carry a UID on Exchange 2007+; the id is a last resort.
            by_uid.setdefault(item.uid or item.id, []).append(item)
        records = [
            RawItem(record_id(owner, "calendar", uid), calendar_payload(owner, uid, group))
            for uid, group in sorted(by_uid.items())
        ]
        return Page(
            records=records,
            requests=1,
            cursor={"window": [start.isoformat(), end.isoformat()]},
            snapshot=Snapshot(
                scope=record_id(owner, "calendar", ""),
                present_ids=frozenset(r.external_id for r in records),
                reason="no longer in the Exchange calendar view (deleted, declined or "
                "outside the window)",
                max_delete_share=self.source.cfg.max_delete_share,
            ),
        )


# ---------------------------------------------------------------- the source


class ExchangeSource(Source):
    """Mailboxes behind one EWS endpoint, read with one credential."""

    kind = "exchange"

    def __init__(self, cfg: ExchangeSourceConfig,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self.clock = clock
        self.page_size = cfg.page_size
        self.mailboxes = [m.lower() for m in cfg.mailboxes] or [cfg.username.lower()]
        self.config = Configuration(
            service_endpoint=cfg.endpoint,
            credentials=Credentials(cfg.username, secret(cfg.password) or ""),
            auth_type=NTLM if cfg.auth_type == "ntlm" else BASIC,
            version=None,
            retry_policy=FaultTolerance(max_wait=cfg.max_wait_seconds),
        )
        self._accounts: dict[str, Account] = {}

    def account(self, owner: str) -> Account:
        """The exchangelib Account of one mailbox (no autodiscover), created once."""
        if owner not in self._accounts:
            access = IMPERSONATION if self.cfg.access == "impersonation" else DELEGATE

            def make() -> Account:
                return Account(primary_smtp_address=owner, config=self.config,
                               autodiscover=False, access_type=access)

            account = _call(self.name, make)
            # The back-off when ErrorServerBusy names none (exchangelib doubles it per retry).
            account.protocol.RETRY_WAIT = self.cfg.retry_wait_seconds
            self._accounts[owner] = account
        return self._accounts[owner]

    def message_fields(self) -> list[str]:
        """The message properties the stream asks for."""
        return [*MESSAGE_FIELDS, "body"] if self.cfg.store_bodies else list(MESSAGE_FIELDS)

    def window(self) -> tuple[datetime, datetime]:
        """The calendar view's span: whole UTC days around the anchor day."""
        anchor: date = self.cfg.window_anchor or self.clock().astimezone(UTC).date()
        midnight = datetime.combine(anchor, time(0), tzinfo=UTC)
        return (midnight - timedelta(weeks=self.cfg.window.past_weeks),
                midnight + timedelta(weeks=self.cfg.window.future_weeks))

    def streams(self) -> list[Stream]:
        return [MessagesStream(self), CalendarStream(self)]

    def close(self) -> None:
        if not self._accounts:
            return
        protocol = next(iter(self._accounts.values())).protocol
        protocol.close()
        # Drop exchangelib's process-wide cached protocol, so the next source starts
        # with its own retry policy and no stale sessions.
        with contextlib.suppress(KeyError):
            del Protocol[self.config]
        self._accounts.clear()

