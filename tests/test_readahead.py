"""`read_ahead` hands over what its readers read, each in order, and their errors;
what is ready goes together. `read_in_order` reads several readers at once and hands
them over one after another."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import pytest

from connectors.readahead import read_ahead, read_in_order


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


def test_readers_in_order_are_read_at_once_and_handed_over_one_after_another() -> None:
    started = threading.Barrier(3, timeout=5)  # fails unless three read at once

    def listing(name: str) -> Iterator[str]:
        started.wait()
        for n in range(20):
            yield f"{name}{n}"

    got = [list(items) for items in read_in_order((listing(x) for x in "abc"), at_once=3)]
    assert got == [[f"{x}{n}" for n in range(20)] for x in "abc"]


def test_readers_in_order_start_as_threads_free_up() -> None:
    created: list[int] = []
    running = threading.Semaphore(2)
    overlapped: list[int] = []

    def reader(number: int) -> Iterator[int]:
        if not running.acquire(blocking=False):
            overlapped.append(number)  # a third reader ran beside two others
        try:
            yield number
        finally:
            running.release()

    def readers() -> Iterator[Iterator[int]]:
        for number in range(6):
            created.append(number)
            yield reader(number)

    handed = read_in_order(readers(), at_once=2)
    first = next(handed)
    assert created == [0, 1]  # the others are not even made until a thread frees up
    assert list(first) == [0]
    assert [list(items) for items in handed] == [[n] for n in range(1, 6)]
    assert overlapped == []


def test_an_error_in_order_comes_in_its_place_and_stops_the_readers_after_it() -> None:
    stopped = threading.Event()

    def failing() -> Iterator[str]:
        yield "b0"
        raise RuntimeError("repository b failed")

    def endless() -> Iterator[str]:
        try:
            for n in range(10_000):
                yield f"c{n}"
        finally:
            stopped.set()

    got: list[str] = []

    def consume() -> None:
        for items in read_in_order(iter([iter(["a0", "a1"]), failing(), endless()]),
                                   at_once=3, depth=2):
            got.extend(items)

    with pytest.raises(RuntimeError, match="repository b failed"):
        consume()
    assert got == ["a0", "a1", "b0"]
    assert stopped.wait(5)  # the reader after the failure was let go


def test_one_at_a_time_in_order_reads_in_the_callers_thread() -> None:
    threads: set[str] = set()

    def reader(number: int) -> Iterator[int]:
        threads.add(threading.current_thread().name)
        yield number

    assert [list(i) for i in read_in_order((reader(n) for n in range(3)), 1)] == [[0], [1], [2]]
    assert threads == {threading.current_thread().name}
