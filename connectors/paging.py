"""Pagination strategies as small shared classes, and the one loop that drives them.

A paginator answers two questions: what is the first page token, and given the response
to one page, what is the next token (None when done). `paginate` runs the loop and
refuses to ask for a token twice, so a server that hands back the same token cannot trap
a sync in an endless loop.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import httpx

from connectors.errors import PaginationLoopError

__all__ = [
    "ChunkPaginator",
    "LinkHeaderPaginator",
    "NextLinkPaginator",
    "OffsetPaginator",
    "PageTokenPaginator",
    "Paginator",
    "chunked",
    "paginate",
]

R = TypeVar("R")
T = TypeVar("T")


class Paginator(ABC, Generic[R]):
    """Computes page tokens from responses of type R."""

    def first_token(self) -> Any:
        """The token of the first page (None: no token)."""
        return None

    @abstractmethod
    def next_token(self, response: R, token: Any) -> Any:
        """The token of the page after `response`, or None when it was the last."""


def _key(token: Any) -> str:
    return json.dumps(token, sort_keys=True, default=str)


def paginate(
    fetch: Callable[[Any], R], paginator: Paginator[R], *, max_pages: int = 1_000_000
) -> Iterator[R]:
    """Fetch page after page until the paginator says done; detect loops."""
    token = paginator.first_token()
    seen: set[str] = set()
    for _ in range(max_pages):
        marker = _key(token)
        if marker in seen:
            raise PaginationLoopError(f"page token {marker} came back a second time")
        seen.add(marker)
        response = fetch(token)
        yield response
        token = paginator.next_token(response, token)
        if token is None:
            return
    raise PaginationLoopError(f"more than {max_pages} pages")


class OffsetPaginator(Paginator[dict[str, Any]]):
    """startAt/maxResults/total paging (Jira Server search)."""

    def __init__(
        self,
        page_size: int,
        *,
        start_key: str = "startAt",
        total_key: str = "total",
        items_key: str = "issues",
    ) -> None:
        self.page_size = page_size
        self.start_key = start_key
        self.total_key = total_key
        self.items_key = items_key

    def first_token(self) -> int:
        return 0

    def next_token(self, response: dict[str, Any], token: Any) -> int | None:
        start = int(response.get(self.start_key, token or 0))
        count = len(response.get(self.items_key) or [])
        total = response.get(self.total_key)
        nxt = start + count
        if count == 0 or (total is not None and nxt >= int(total)):
            return None
        return nxt


class PageTokenPaginator(Paginator[dict[str, Any]]):
    """nextPageToken/isLast paging (Jira Cloud /search/jql, many Google-style APIs)."""

    def __init__(
        self,
        token_key: str = "nextPageToken",  # noqa: S107  (a field name)
        last_key: str | None = "isLast",
    ) -> None:
        self.token_key = token_key
        self.last_key = last_key

    def next_token(self, response: dict[str, Any], token: Any) -> str | None:
        if self.last_key and response.get(self.last_key):
            return None
        return response.get(self.token_key) or None


class LinkHeaderPaginator(Paginator[httpx.Response]):
    """RFC 8288 `Link: <...>; rel="next"` paging (GitHub)."""

    def next_token(self, response: httpx.Response, token: Any) -> str | None:
        link = response.links.get("next")
        return link.get("url") if link else None


class NextLinkPaginator(Paginator[dict[str, Any]]):
    """A next URL inside the body, e.g. Confluence's `_links.next`."""

    def __init__(self, path: Sequence[str] = ("_links", "next")) -> None:
        self.path = tuple(path)

    def next_token(self, response: dict[str, Any], token: Any) -> str | None:
        node: Any = response
        for part in self.path:
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return node or None


class ChunkPaginator(Paginator[Any]):
    """Pages over a list known up front, e.g. hrefs fetched by CalDAV multiget."""

    def __init__(self, items: Sequence[Any], size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.items = items
        self.size = size

    def first_token(self) -> int:
        return 0

    def chunk(self, token: int) -> Sequence[Any]:
        """The items of the page at `token`."""
        return self.items[token : token + self.size]

    def next_token(self, response: Any, token: Any) -> int | None:
        nxt = int(token) + self.size
        return nxt if nxt < len(self.items) else None


def chunked(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`values` in consecutive groups of at most `size` (for APIs that cap a filter's ids)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
