"""`prefetched`: read the next pages of a stream while the current one is being landed.

A sync alternates between waiting for the service and working on what it sent (hashing,
storing, committing). Reading in a thread overlaps the two: the wait releases the GIL, so
the landing runs while the next request is in flight. The depth bounds the pages held in
memory; an error in the reader reaches the consumer after the pages read before it, in
order, so landing and resuming behave exactly as without the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["prefetched"]

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
        for got in iter(handoff.get, _DONE):
            if isinstance(got, _Failed):
                raise got.error
            yield got  # type: ignore[misc]
    finally:
        # The consumer finished, failed or stopped early: let the reader go.
        stop.set()
        reader.join(timeout=30)
