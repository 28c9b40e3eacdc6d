"""The Confluence Cloud source: pages and inline tasks of the configured spaces.

Through httpx on REST v2 (`/wiki/api/v2`), with the shared `HttpClient` (retries that
honour Retry-After, one request budget per credential) and `paginate` over Confluence's
`_links.next` cursors.

- `pages`: incremental by modified date. The listing is sorted `-modified-date` and read
  until a page older than the watermark minus the lookback; the new watermark rides on the
  last page, so a crash repeats the run (harmless: content hashes decide). Trashing keeps
  a page's modified date, so every run also lists the trashed and deleted pages of the
  spaces (small) and tombstones them. A first or `--full` run lists everything and ends
  with a Snapshot, which also catches purged pages and pages moved out of the spaces.
- `tasks`: the v2 task listing has no "updated since" filter, so every run lists the
  spaces' tasks (small; a few listings over shares of the spaces, read at once) and ends
  with a Snapshot; unchanged tasks hash the same and write nothing. Tasks of trashed
  pages drop out of the listing and are tombstoned.

Each record is an envelope: the object exactly as Confluence sent it, plus the space it
was listed under and the site's base URL, so normalization needs nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from connectors.base import Cursor, Page, RawItem, Snapshot, Source, Stream
from connectors.errors import FatalError
from connectors.http import HttpClient, RequestBudget
from connectors.paging import NextLinkPaginator, chunked, paginate
from connectors.readahead import read_ahead

__all__ = ["API", "ConfluenceSource", "PagesStream", "TasksStream", "budget_for", "parse_time"]

#: Where the v2 REST API lives on a Confluence Cloud site.
API = "/wiki/api/v2"
#: The most ids one filter takes (the v2 OpenAPI's maxItems): /pages takes 100 space
#: ids, /tasks and /spaces 250.
MAX_PAGE_SPACES = 100
MAX_IDS = 250
#: Task listings read at once (each over a share of the spaces) in a run.
TASK_LISTINGS = 4

_BUDGETS: dict[tuple[str, str], RequestBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(site: str, username: str | None) -> RequestBudget:
    """The one request budget of a credential, shared by every stream that uses it."""
    with _BUDGETS_LOCK:
        return _BUDGETS.setdefault((site, username or ""), RequestBudget())


def parse_time(value: str) -> datetime:
    """A Confluence timestamp (`2026-12-02T12:00:00.000Z`) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class ConfluenceSource(Source):
    """One Confluence Cloud site, read as one account."""

    kind = "confluence"
    # Pages and tasks are separate listings; they share the space lookup (locked) and
    # the request budget.
    parallel_streams = True

    def __init__(
        self,
        name: str,
        url: str,
        *,
        username: str | None = None,
        token: str | None = None,
        spaces: list[str] | None = None,
        page_size: int = 100,
        task_page_size: int = 250,
        lookback: timedelta = timedelta(minutes=10),
        max_delete_share: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(name)
        # People paste the site or the wiki's own address; the API hangs off the site.
        self.site = url.rstrip("/").removesuffix("/wiki")
        self.space_keys = list(spaces or [])
        self.page_size = page_size
        self.task_page_size = task_page_size
        self.lookback = lookback
        self.max_delete_share = max_delete_share
        self.client = HttpClient(
            source=name,
            base_url=self.site,
            headers={"Accept": "application/json"},
            auth=(username, token or "") if username else None,
            budget=budget_for(self.site, username),
            transport=transport,
            sleep=sleep,
        )
        self._spaces: list[dict[str, Any]] | None = None
        self._spaces_lock = threading.Lock()

    def listing(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every response of a paginated listing, following `_links.next`."""

        def fetch(token: str | None) -> dict[str, Any]:
            # The next link already carries every parameter and the cursor.
            found = self.client.get_json(token) if token else self.client.get_json(
                API + path, params=params)
            if not isinstance(found, dict) or not isinstance(found.get("results"), list):
                raise FatalError(f"{self.name}: {path} did not answer a listing")
            return found

        return paginate(fetch, NextLinkPaginator())

    def spaces(self) -> list[dict[str, Any]]:
        """The configured spaces (key -> id via /spaces?keys=), looked up once."""
        with self._spaces_lock:
            if self._spaces is None:
                self._spaces = self._look_up_spaces()
            return self._spaces

    def _look_up_spaces(self) -> list[dict[str, Any]]:
        if not self.space_keys:
            raise FatalError(f"{self.name}: no spaces configured (sources[].spaces)")
        found: dict[str, dict[str, Any]] = {}
        for keys in chunked(self.space_keys, MAX_IDS):
            params = {"keys": ",".join(keys), "limit": 250}
            for response in self.listing("/spaces", params):
                for space in response["results"]:
                    found[str(space["key"])] = {"id": str(space["id"]), "key": space["key"],
                                                "name": space.get("name")}
        missing = [k for k in self.space_keys if k not in found]
        if missing:
            raise FatalError(f"{self.name}: no such Confluence space(s): {missing}")
        return [found[k] for k in self.space_keys]

    def base_url(self) -> str:
        """Where `_links.webui` paths are rooted: the wiki under the site."""
        return self.site + "/wiki"

    def streams(self) -> list[Stream]:
        return [PagesStream(self), TasksStream(self)]

    def close(self) -> None:
        self.client.close()


def _envelope(kind: str, obj: dict[str, Any], space: dict[str, Any], base: str
              ) -> dict[str, Any]:
    return {"base": base, "space": space, kind: obj}


class PagesStream(Stream):
    """Pages of the spaces, newest modification first, down to the watermark."""

    name = "pages"
    primary_key = "page.id"
    cursor_field = "page.version.createdAt"

    def __init__(self, source: ConfluenceSource) -> None:
        self.source = source

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        source, client = self.source, self.source.client
        before = client.requests
        spaces = {s["id"]: s for s in source.spaces()}
        watermark = parse_time(cursor["modified"]) if cursor and cursor.get("modified") else None
        stop_at = watermark - source.lookback if watermark else None
        newest = watermark
        present: set[str] = set()
        # /pages takes at most 100 space ids: larger sites are listed a group at a time,
        # each group newest first down to the watermark.
        for group in chunked(list(spaces), MAX_PAGE_SPACES):
            params = {"space-id": ",".join(group), "sort": "-modified-date",
                      "status": ["current", "archived"], "limit": source.page_size}
            for response in source.listing("/pages", params):
                records: list[RawItem] = []
                done = False
                for page in response["results"]:
                    modified = parse_time(page["version"]["createdAt"])
                    if stop_at is not None and modified < stop_at:
                        done = True  # sorted newest first: the rest is older still
                        break
                    newest = max(newest, modified) if newest else modified
                    present.add(str(page["id"]))
                    space = spaces.get(str(page.get("spaceId")), {"id": page.get("spaceId")})
                    records.append(RawItem(str(page["id"]),
                                           _envelope("page", page, space, source.base_url())))
                mark = client.requests
                yield Page(records=records, requests=mark - before)
                before = mark
                if done:
                    break
        last = Page(deleted=self._trashed(spaces))
        if watermark is None:
            # A whole listing: whatever it did not name is gone (purged, moved away).
            last.snapshot = Snapshot("", frozenset(present), "no longer in the synced spaces",
                                     source.max_delete_share)
        last.cursor = {"modified": newest.isoformat()} if newest else dict(cursor or {})
        last.requests = client.requests - before
        yield last

    def _trashed(self, spaces: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Pages of the spaces in the trash or deleted: id -> reason."""
        out: dict[str, str] = {}
        for group in chunked(list(spaces), MAX_PAGE_SPACES):
            params = {"space-id": ",".join(group), "status": ["trashed", "deleted"],
                      "limit": 250}
            for response in self.source.listing("/pages", params):
                for page in response["results"]:
                    out[str(page["id"])] = f"{page.get('status', 'deleted')} in Confluence"
        return out


class TasksStream(Stream):
    """Inline tasks of the spaces, re-listed each run (the API has no updated filter)."""

    name = "tasks"
    primary_key = "task.id"
    cursor_field = None

    def __init__(self, source: ConfluenceSource) -> None:
        self.source = source

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        source, client = self.source, self.source.client
        before = client.requests
        spaces = {s["id"]: s for s in source.spaces()}
        looked_up = client.requests - before  # the spaces, when this stream looked them up
        present: set[str] = set()
        pending: Page | None = None
        # Every run lists every task: the spaces' listings are read at once, each a chain
        # of cursors, so a run waits for the longest chain rather than for all of them.
        size = min(MAX_IDS, -(-len(spaces) // TASK_LISTINGS)) or 1
        listings = [self._listing(group, spaces) for group in chunked(list(spaces), size)]
        for run in read_ahead(listings, depth=2 * len(listings)):
            for records, requests in run:
                present.update(r.external_id for r in records)
                if pending is not None:
                    yield pending
                pending = Page(records=records, requests=requests)
        last = pending or Page()
        last.snapshot = Snapshot("", frozenset(present), "no longer listed by Confluence",
                                 source.max_delete_share)
        last.cursor = {"listed": True}
        last.requests += looked_up
        yield last

    def _listing(self, group: Sequence[str], spaces: dict[str, dict[str, Any]]
                 ) -> Iterator[tuple[list[RawItem], int]]:
        """The tasks of a group of spaces, a response at a time, with the requests each
        took (counted in the thread that reads this listing)."""
        source, client = self.source, self.source.client
        params = {"space-id": ",".join(group), "body-format": "storage",
                  "limit": source.task_page_size}
        before = client.requests
        for response in source.listing("/tasks", params):
            records = []
            for task in response["results"]:
                space = spaces.get(str(task.get("spaceId")), {"id": task.get("spaceId")})
                records.append(RawItem(str(task["id"]),
                                       _envelope("task", task, space, source.base_url())))
            mark = client.requests
            yield records, mark - before
            before = mark
