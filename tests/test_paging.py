"""Paginators and the one loop that drives them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.errors import PaginationLoopError
from connectors.paging import (
    ChunkPaginator,
    LinkHeaderPaginator,
    NextLinkPaginator,
    OffsetPaginator,
    PageTokenPaginator,
    paginate,
)


def test_offset_paging_stops_at_total() -> None:
    data = list(range(7))

    def fetch(start: int) -> dict[str, Any]:
        return {"startAt": start, "total": 7, "issues": data[start : start + 3]}

    pages = list(paginate(fetch, OffsetPaginator(3)))
    assert [p["issues"] for p in pages] == [[0, 1, 2], [3, 4, 5], [6]]


def test_page_token_paging_stops_at_is_last() -> None:
    answers = {
        None: {"nextPageToken": "b", "isLast": False, "v": 1},
        "b": {"nextPageToken": "c", "isLast": True, "v": 2},
    }
    assert [p["v"] for p in paginate(answers.__getitem__, PageTokenPaginator())] == [1, 2]


def test_a_token_seen_twice_is_a_loop() -> None:
    answers = {
        None: {"nextPageToken": "a"},
        "a": {"nextPageToken": "b"},
        "b": {"nextPageToken": "a"},
    }
    with pytest.raises(PaginationLoopError, match='"a"'):
        list(paginate(answers.__getitem__, PageTokenPaginator(last_key=None)))


def test_link_header_paging() -> None:
    def fetch(url: str | None) -> httpx.Response:
        n = 1 if url is None else int(url.rsplit("=", 1)[1])
        headers = {"link": f'<https://api.example/items?page={n + 1}>; rel="next"'} if n < 3 else {}
        return httpx.Response(200, headers=headers, json=[n])

    assert [r.json() for r in paginate(fetch, LinkHeaderPaginator())] == [[1], [2], [3]]


def test_next_link_in_the_body() -> None:
    answers = {
        None: {"results": [1], "_links": {"next": "/x?cursor=2"}},
        "/x?cursor=2": {"results": [2], "_links": {}},
    }
    assert [p["results"] for p in paginate(answers.__getitem__, NextLinkPaginator())] == [[1], [2]]


def test_chunks_cover_the_list_once() -> None:
    paginator = ChunkPaginator(list("abcdefg"), 3)
    assert [list(c) for c in paginate(paginator.chunk, paginator)] == [
        ["a", "b", "c"],
        ["d", "e", "f"],
        ["g"],
    ]


def test_max_pages_bounds_a_runaway_source() -> None:
    with pytest.raises(PaginationLoopError, match="more than 5 pages"):
        list(paginate(lambda n: {"startAt": n, "issues": [1]}, OffsetPaginator(1), max_pages=5))
