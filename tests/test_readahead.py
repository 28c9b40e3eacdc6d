"""`read_ahead` hands over what its readers read, each in order, and their errors;
what is ready goes together."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import pytest

from connectors.readahead import read_ahead


def _items(items: Iterable[int], depth: int = 2) -> Iterator[int]:
    """One reader's items, one at a time."""
    return (item for run in read_ahead([items], depth) for item in run)


def test_items_arrive_in_order_from_another_thread() -> None:
    readers: set[str] = set()

    def pages() -> Iterator[int]:
        for n in range(50):
            readers.add(threading.current_thread().name)
            yield n

    assert list(_items(pages(), depth=3)) == list(range(50))
    assert readers == {"workhub-read-ahead"}


def test_an_error_comes_after_the_items_read_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("page 3 failed")

    got: list[int] = []

    def consume() -> None:
        for item in _items(pages()):
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

    for item in _items(pages(), depth=2):
        if item == 3:
            break
    assert closed.wait(5)
    # The reader ran at most the queue's depth (plus the item in hand) ahead.
    assert len(read) <= 3 + 1 + 2 + 1


def test_a_consumer_behind_the_reader_takes_what_is_ready_as_one_run() -> None:
    taken, all_put = threading.Event(), threading.Event()

    def pages() -> Iterator[int]:
        yield 0
        assert taken.wait(5)  # the consumer has its first run before the reader goes on
        yield from range(1, 5)
        all_put.set()  # runs once the reader asks for more: after it put the last item

    runs = read_ahead([pages()], depth=8)
    assert next(runs) == [0]
    taken.set()
    assert all_put.wait(5)
    assert list(runs) == [[1, 2, 3, 4]]


def test_several_readers_are_read_at_once_each_in_its_order() -> None:
    started = threading.Barrier(3, timeout=5)  # fails unless all three read at once

    def listing(name: str) -> Iterator[str]:
        started.wait()
        for n in range(20):
            yield f"{name}{n}"

    got = [item for run in read_ahead([listing(x) for x in "abc"], depth=4) for item in run]
    assert sorted(got) == sorted(f"{x}{n}" for x in "abc" for n in range(20))
    for name in "abc":
        assert [g for g in got if g[0] == name] == [f"{name}{n}" for n in range(20)]
