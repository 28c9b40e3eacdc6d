"""Reading ahead in threads: a stream's next pages while the current ones are landed,
or several independent listings at once (`read_ahead`), or the next parts of a stream
while the current part is handed over (`read_in_order`).

A sync alternates between waiting for the service and working on what it sent (hashing,
storing, committing). Reading in a thread overlaps the two: the wait releases the GIL, so
the landing runs while the next request is in flight. The depth bounds the items held in
memory; an error in a reader reaches the consumer after the items read before it, in
order, so landing and resuming behave exactly as without the threads. The consumer takes
every item that is ready at once (a run), so one that falls behind can take them together.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["read_ahead", "read_in_order"]

T = TypeVar("T")

#: How long a reader waits on a full queue before checking that the consumer is still
#: there (it stops when the consumer has gone).
_POLL_SECONDS = 0.1


#: Put after a reader's last item.
_DONE = object()


class _Failed:
    """A reader raised; the consumer re-raises the same exception."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _offer(handoff: queue.Queue[object], stop: threading.Event, thing: object) -> bool:
    """Put `thing` on the queue unless the consumer has gone (then: False)."""
    while not stop.is_set():
        try:
            handoff.put(thing, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _read(items: Iterable[T], handoff: queue.Queue[object], stop: threading.Event) -> None:
    """Every item, then `_DONE` (or the reader's error), onto the queue."""
    source = iter(items)
    try:
        for item in source:
            if not _offer(handoff, stop, item):
                return
        _offer(handoff, stop, _DONE)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer to raise
        _offer(handoff, stop, _Failed(exc))
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def read_ahead(readers: Sequence[Iterable[T]], depth: int = 2) -> Iterator[list[T]]:
    """The items of every reader, each read in a thread of its own, at most `depth` items
    ahead in all; handed over as runs of what is ready. Each reader's items keep their
    order; how the readers' items interleave is how they arrive."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    threads = [threading.Thread(target=_read, args=(items, handoff, stop),
                                name="workhub-read-ahead", daemon=True) for items in readers]
    for thread in threads:
        thread.start()
    try:
        running, failed = len(threads), None
        while running and failed is None:
            run: list[T] = []
            got = handoff.get()  # the first waits for a reader; the rest are there
            while True:
                if got is _DONE:
                    running -= 1
                elif isinstance(got, _Failed):
                    failed = got
                    break
                else:
                    run.append(got)  # type: ignore[arg-type]
                if not running:
                    break
                try:
                    got = handoff.get_nowait()
                except queue.Empty:
                    break
            if run:
                yield run
        if failed is not None:
            raise failed.error
    finally:
        # The consumer finished, failed or stopped early: let the readers go.
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def read_in_order(readers: Iterable[Iterable[T]], at_once: int,
                  depth: int = 2) -> Iterator[Iterator[T]]:
    """Each reader's items, reader after reader in the given order, while up to `at_once`
    readers are read at once, each in a thread and at most `depth` items ahead.

    Take every item of one reader before asking for the next. Readers are taken from
    `readers` only as threads free up, so a generator of readers starts each lazily. An
    error reaches the consumer in its place, after the items read before it; the readers
    after it are stopped. With `at_once` 1, the readers are read here, one by one.
    """
    if at_once <= 1:
        yield from (iter(reader) for reader in readers)
        return
    stop = threading.Event()
    waiting: deque[queue.Queue[object]] = deque()
    upcoming = iter(readers)
    pool = ThreadPoolExecutor(at_once, thread_name_prefix="workhub-read-in-order")

    def start_next() -> None:
        for reader in upcoming:
            handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
            pool.submit(_read, reader, handoff, stop)
            waiting.append(handoff)
            return

    def drain(handoff: queue.Queue[object]) -> Iterator[T]:
        while (got := handoff.get()) is not _DONE:
            if isinstance(got, _Failed):
                raise got.error
            yield got  # type: ignore[misc]

    try:
        for _ in range(at_once):
            start_next()
        while waiting:
            yield drain(waiting.popleft())
            start_next()
    finally:
        # Done, failed or stopped early: the readers still going stop at their next item.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
