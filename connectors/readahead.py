"""Reading ahead in threads: a stream's next pages while the current ones are landed,
or several independent listings at once (`read_ahead`).

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
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

__all__ = ["read_ahead"]

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


def read_ahead(readers: Sequence[Iterable[T]], depth: int = 2) -> Iterator[list[T]]:
    """The items of every reader, each read in a thread of its own, at most `depth` items
    ahead in all; handed over as runs of what is ready. Each reader's items keep their
    order; how the readers' items interleave is how they arrive."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(thing: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(thing, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def read(items: Iterable[T]) -> None:
        source = iter(items)
        try:
            for item in source:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer to raise
            offer(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    threads = [threading.Thread(target=read, args=(items,), name="workhub-read-ahead",
                                daemon=True) for items in readers]
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
