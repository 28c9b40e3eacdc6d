"""GitHub REST through PyGithub's requester: raw JSON, one budget per token, retries, ETags.

PyGithub does transport, auth and Enterprise base URLs; its object layer is skipped
(it costs a GET per item for `raw_data` or `pull_request`, NOTES.md). Each answer is
turned into an `httpx.Response` value so the shared helpers of `connectors.http`
(typed errors, Retry-After / X-RateLimit-Reset, budgets) and `LinkHeaderPaginator`
apply unchanged. List pages are fetched conditionally: the ETag of every page is kept
in the stream's cursor, and a 304 costs no rate limit at GitHub.
"""

from __future__ import annotations

import hashlib
import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import github
import httpx
import requests
from github.Requester import Requester

from connectors.errors import FatalError, RetriableError
from connectors.http import (
    RequestBudget,
    ThreadCount,
    error_for_response,
    json_body,
    retry_after_seconds,
    retrying,
)
from connectors.paging import LinkHeaderPaginator, Paginator, paginate

__all__ = [
    "GitHubClient",
    "ListPage",
    "budget_for",
    "forget_budget",
    "use_budget",
]

_BUDGETS: dict[str, RequestBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def _credential(base_url: str, token: str | None) -> str:
    # Keyed by a hash: the token itself never sits in a long-lived structure.
    return hashlib.sha256(f"{base_url.rstrip('/')}|{token or ''}".encode()).hexdigest()


def budget_for(base_url: str, token: str | None) -> RequestBudget:
    """The one budget of this token at this server, shared by every stream and repo."""
    with _BUDGETS_LOCK:
        return _BUDGETS.setdefault(_credential(base_url, token), RequestBudget())


def use_budget(base_url: str, token: str | None, budget: RequestBudget) -> None:
    """Install a budget for a token (tests inject one with a fake clock and sleep)."""
    with _BUDGETS_LOCK:
        _BUDGETS[_credential(base_url, token)] = budget


def forget_budget(base_url: str, token: str | None) -> None:
    """Drop a token's budget (the next `budget_for` starts a fresh one)."""
    with _BUDGETS_LOCK:
        _BUDGETS.pop(_credential(base_url, token), None)


@dataclass
class ListPage:
    """One page of a conditional listing: `rows` is None when the server said 304."""

    number: int
    response: httpx.Response
    rows: list[dict[str, Any]] | None
    #: the listing state (ETags of the pages so far, whether more may follow) after it
    state: dict[str, Any]


class _PageNumbers(Paginator[ListPage]):
    """Link-header paging by page number; after a 304 the remembered listing decides."""

    def __init__(self, known_pages: int, open_end: bool) -> None:
        self.known_pages = known_pages
        self.open_end = open_end
        self._links = LinkHeaderPaginator()

    def first_token(self) -> int:
        return 1

    def next_token(self, response: ListPage, token: Any) -> int | None:
        if self._links.next_token(response.response, token) is not None:
            return int(token) + 1
        if response.rows is not None:
            return None
        # A 304 page is as we saw it last time: go on if more pages were there, or if
        # the last one was full (new rows sort after it without changing it).
        return int(token) + 1 if token < self.known_pages or self.open_end else None


class GitHubClient:
    """GET requests to one GitHub server with one token, counted and retried."""

    def __init__(
        self,
        *,
        source: str,
        base_url: str,
        token: str | None,
        per_page: int,
        budget: RequestBudget,
    ) -> None:
        self.source = source
        self.per_page = per_page
        self.budget = budget
        # Counted per thread: a source's streams read through this client at once, and
        # each takes its requests as the difference of two readings.
        self._requests = ThreadCount()
        self._not_modified = ThreadCount()
        # PyGithub's own retries and politeness delays would sleep on the wall clock;
        # ours wait through the budget's (injectable) sleep instead.
        self._options: dict[str, Any] = {
            "base_url": base_url,
            "auth": github.Auth.Token(token) if token else None,
            "per_page": per_page,
            "retry": 0,
            "seconds_between_requests": None,
            "seconds_between_writes": None,
        }
        self._local = threading.local()
        self._clients: list[github.Github] = []
        self._clients_lock = threading.Lock()
        self._retrying = retrying(attempts=8, sleep=budget.sleep)

    @property
    def requests(self) -> int:
        """Requests sent from this thread."""
        return self._requests.value

    @property
    def not_modified(self) -> int:
        """Requests from this thread that GitHub answered 304 Not Modified."""
        return self._not_modified.value

    def _requester(self) -> Requester:
        """This thread's PyGithub requester: a requester keeps one HTTP connection,
        which two threads must not share."""
        client: github.Github | None = getattr(self._local, "github", None)
        if client is None:
            client = self._local.github = github.Github(**self._options)
            with self._clients_lock:
                self._clients.append(client)
        return client.requester

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        etag: str | None = None,
        accept: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """GET `path` (relative to the base URL, or absolute); 304 and `accept` statuses
        come back, passing failures are retried, the rest raise typed errors."""
        return self._retrying(self._send, path, dict(params or {}), etag, accept)

    def _exchange(self, path: str, params: dict[str, Any], etag: str | None) -> httpx.Response:
        """One GET through this thread's PyGithub requester, as an httpx response."""
        self._requests.add()
        requester = self._requester()
        headers = {"Accept": "application/vnd.github+json"}
        if etag:
            headers["If-None-Match"] = etag
        try:
            status, answer_headers, body = requester.requestJson(
                "GET", path, parameters=params, headers=headers
            )
        except (requests.RequestException, http.client.HTTPException, OSError) as exc:
            raise RetriableError(f"{self.source}: GET {path} failed: {exc}") from exc
        url = path if "://" in path else requester.base_url + path
        return httpx.Response(
            status,
            headers=answer_headers,
            content=body.encode(),
            request=httpx.Request("GET", f"{url}?{urlencode(params)}" if params else url),
        )

    def _send(
        self, path: str, params: dict[str, Any], etag: str | None, accept: tuple[int, ...]
    ) -> httpx.Response:
        with self.budget.spend():
            response = self._exchange(path, params, etag)
            self.budget.observe(response)
        status = response.status_code
        if status == 304:
            self._not_modified.add()
            return response
        if status in accept:
            if status == 200:
                try:
                    json_body(response)
                except ValueError as exc:  # a body cut short on the way
                    raise RetriableError(f"{self.source}: {path} sent unreadable JSON") from exc
            return response
        error = error_for_response(response, self.source)
        if isinstance(error, RetriableError):
            # Reset times are the server's epoch seconds: measure them on our clock.
            error.retry_after = retry_after_seconds(response, now=self.budget.clock())
            raise error
        raise error or FatalError(f"{self.source}: unexpected HTTP {status} from {path}")

    def pages(
        self, path: str, params: dict[str, Any], state: dict[str, Any] | None,
        *, empty: tuple[int, ...] = (),
    ) -> Iterator[ListPage]:
        """Every page of a listing, each asked with the ETag it had last time.

        `state` is what the last page of the previous run left (`ListPage.state`); a
        status in `empty` means there is nothing to list (409 for an empty repository's
        commits).
        """
        etags: list[str] = list((state or {}).get("etags", []))
        paginator = _PageNumbers(len(etags), bool((state or {}).get("open")))

        def fetch(number: int) -> ListPage:
            known = etags[number - 1] if number <= len(etags) else None
            response = self.get(path, {**params, "per_page": self.per_page, "page": number},
                                etag=known, accept=(200, *empty))
            rows: list[dict[str, Any]] | None = None
            open_end = bool((state or {}).get("open")) and number >= len(etags)
            if response.status_code != 304:
                rows = [] if response.status_code in empty else json_body(response)
                if not isinstance(rows, list):
                    raise FatalError(f"{self.source}: {path} did not answer a list")
                tag = response.headers.get("etag")
                if number <= len(etags):
                    etags[number - 1] = tag or ""
                else:
                    etags.append(tag or "")
                open_end = "next" in response.links or len(rows) >= self.per_page
            return ListPage(number, response, rows, {"etags": list(etags), "open": open_end})

        for page in paginate(fetch, paginator):
            if paginator.next_token(page, page.number) is None:
                # The listing ends here: ETags of pages past the end are stale.
                page.state = {"etags": etags[: page.number], "open": page.state["open"]}
            yield page

    def listing(
        self, path: str, params: dict[str, Any], state: dict[str, Any] | None,
        *, empty: tuple[int, ...] = (),
    ) -> tuple[list[dict[str, Any]] | None, dict[str, Any]]:
        """All rows of a listing, or None when every page answered 304; and its state."""
        pages = list(self.pages(path, params, state, empty=empty))
        new_state = pages[-1].state if pages else {"etags": [], "open": False}
        if all(p.rows is None for p in pages):
            return None, dict(state or new_state)
        rows: list[dict[str, Any]] = []
        for page in pages:
            if page.rows is None:  # unchanged, but its rows are needed now
                response = self.get(path, {**params, "per_page": self.per_page,
                                           "page": page.number}, accept=(200, *empty))
                page.rows = [] if response.status_code in empty else json_body(response)
            rows.extend(page.rows or [])
        return rows, new_state

    def close(self) -> None:
        """Close every thread's PyGithub connection."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
