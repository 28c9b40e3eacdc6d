"""`prefetched`: read the next pages of a stream while the current one is being landed.

A sync alternates between waiting for the service and working on what it sent (hashing,
storing, committing). Reading in a thread overlaps the two: the wait releases the GIL, so
the landing runs while the next request is in flight. The depth bounds the pages held in
memory; an error in the reader reaches the consumer after the pages read before it, in
order, so landing and resuming behave exactly as without the thread.
`prefetched_runs` hands over every page the reader has ready at once, so a consumer that
falls behind can take them together.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["prefetched", "prefetched_runs"]

T = TypeVar("T")

#: How long the reader waits on a full queue before checking that the consumer is still
#: there (it stops when the consumer has gone).
_POLL_SECONDS = 0.1


#: Put after the last item.
_DONE = object()


class _Failed:
    """The reader raised; the consumer re-raises the same exception."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate `items` from a reader thread that runs up to `depth` items ahead."""
    for run in prefetched_runs(items, depth):
        yield from run


def prefetched_runs(items: Iterable[T], depth: int = 2) -> Iterator[list[T]]:
    """`items` read by a reader thread up to `depth` ahead, handed over as runs: each run
    is every item the reader has ready (at least one), in order."""
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

    def read() -> None:
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

    reader = threading.Thread(target=read, name="workhub-prefetch", daemon=True)
    reader.start()
    try:
        ended: object = None
        while ended is None:
            run: list[T] = []
            got = handoff.get()  # the first waits for the reader; the rest are there
            while True:
                if got is _DONE or isinstance(got, _Failed):
                    ended = got
                    break
                run.append(got)  # type: ignore[arg-type]
                try:
                    got = handoff.get_nowait()
                except queue.Empty:
                    break
            if run:
                yield run
        if isinstance(ended, _Failed):
            raise ended.error
    finally:
        # The consumer finished, failed or stopped early: let the reader go.
        stop.set()
        reader.join(timeout=30)
