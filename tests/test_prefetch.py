"""`prefetched` yields what the reader read, in order, and hands its errors on."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pipelines.prefetch import prefetched


def test_items_arrive_in_order_from_another_thread() -> None:
    readers: set[str] = set()

    def pages() -> Iterator[int]:
        for n in range(50):
            readers.add(threading.current_thread().name)
            yield n

    assert list(prefetched(pages(), depth=3)) == list(range(50))
    assert readers == {"workhub-prefetch"}


def test_an_error_comes_after_the_items_read_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("page 3 failed")

    got: list[int] = []

    def consume() -> None:
        for item in prefetched(pages()):
            got.append(item)

    with pytest.raises(RuntimeError, match="page 3 failed"):
        consume()
    assert got == [1, 2]


def test_a_consumer_that_stops_early_stops_the_reader() -> None:
    closed = threading.Event()
    read: list[int] = []

    def pages() -> Iterator[int]:
        try:
            for n in range(1000):
                read.append(n)
                yield n
        finally:
            closed.set()

    for item in prefetched(pages(), depth=2):
        if item == 3:
            break
    assert closed.wait(5)
    # The reader ran at most the queue's depth (plus the item in hand) ahead.
    assert len(read) <= 3 + 1 + 2 + 1
